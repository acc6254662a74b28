"""The Commerce client against the store simulator: auth, single reads, labels, write-back, 429."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from connectors.commerce.client import CommerceClient
from connectors.commerce.labels import ResolvedOption
from connectors.commerce.search import SearchCriteria
from connectors.errors import FatalError, RateLimited
from sandbox.commerce.api.auth import IntegrationCredentials
from sandbox.commerce.api.config import CommerceSandboxConfig
from sandbox.commerce.model.customers import SUBSCRIBED, UNSUBSCRIBED
from tests.support.accounts import CLIENT_ID
from tests.support.commerce import SHOP_URL, Commerce, bearer, commerce_sandbox, shop

ADA = "ada@example.com"


def by_email(commerce: Commerce) -> SearchCriteria:
    return SearchCriteria().where("customer_email", "eq", ADA).sort("entity_id")


async def test_the_integration_token_is_accepted_as_a_bearer_token(commerce: Commerce) -> None:
    result = await commerce.client.orders(by_email(commerce))

    ada_orders = [o.entity_id for o in commerce.store.orders.values() if o.email == ADA]
    assert [item["entity_id"] for item in result.items] == ada_orders
    assert [e.status for e in commerce.network.exchanges] == [200]


async def test_oauth_hmac_sha256_signed_searches_reads_and_writes_are_accepted(
    commerce: Commerce,
) -> None:
    client = commerce.oauth_client()
    ada = commerce.store.find_customer(ADA)
    assert ada is not None

    # Query parameters with `[`, `]`, `@` and `%` are signed as sent, so is a bare
    # `searchCriteria=`, and a path percent-encoded by the client is signed in that form.
    result = await client.orders(
        by_email(commerce).where("customer_lastname", "like", "Love%").page(1, 1)
    )
    everything = await client.orders(SearchCriteria())
    product = await client.product("24-MB01")
    odd_sku = await client.product("Gift Card/50% ü")  # past the signature check: a plain 404
    saved = await client.unsubscribe_customer(ada.id)

    assert result.total_count == 2
    assert everything.total_count == len(commerce.store.orders)
    assert product is not None and product["sku"] == "24-MB01"
    assert odd_sku is None
    assert saved["extension_attributes"]["is_subscribed"] is False
    statuses = [e.status for e in commerce.network.exchanges]
    assert statuses == [200, 200, 200, 404, 200, 200]
    assert {e.host for e in commerce.network.exchanges} == {SHOP_URL.removeprefix("http://")}


WRONG_CREDENTIALS: dict[str, Callable[[Commerce], CommerceClient]] = {
    "wrong bearer token": lambda c: c.new_client(bearer(c.credentials, "not-the-token")),
    "wrong consumer secret": lambda c: c.oauth_client(consumer_secret="not-the-secret"),
    "wrong access token secret": lambda c: c.oauth_client(token_secret="not-the-secret"),
}


@pytest.mark.parametrize("client_of", WRONG_CREDENTIALS.values(), ids=WRONG_CREDENTIALS.keys())
async def test_wrong_credentials_are_fatal_and_not_retried(
    commerce: Commerce, client_of: Callable[[Commerce], CommerceClient]
) -> None:
    with pytest.raises(FatalError) as raised:
        await client_of(commerce).orders(by_email(commerce))

    assert raised.value.status == 401
    assert [e.status for e in commerce.network.exchanges] == [401]
    assert commerce.time.sleeps == []


async def test_a_bearer_token_is_refused_when_the_store_has_bearer_off_but_oauth_works() -> None:
    credentials = IntegrationCredentials(bearer_enabled=False)
    config = CommerceSandboxConfig(client_id=CLIENT_ID, credentials=credentials)
    async with commerce_sandbox(shop(), config) as commerce:
        with pytest.raises(FatalError):
            await commerce.client.order(min(commerce.store.orders))
        assert await commerce.oauth_client().order(min(commerce.store.orders)) is not None


async def test_single_reads_answer_real_json_numbers_and_none_when_missing(
    commerce: Commerce,
) -> None:
    store = commerce.store
    order = store.orders[min(store.orders)]
    customer = store.find_customer(ADA)
    cart = max(store.quotes.values(), key=lambda quote: quote.entity_id)
    assert customer is not None

    read_order = await commerce.client.order(order.entity_id)
    read_customer = await commerce.client.customer(customer.id)
    read_product = await commerce.client.product("24-WG02")
    totals = await commerce.client.cart_totals(cart.entity_id)

    assert read_order is not None
    assert (read_order["entity_id"], read_order["increment_id"]) == (
        order.entity_id,
        order.increment_id,
    )
    assert isinstance(read_order["grand_total"], float)
    assert Decimal(str(read_order["grand_total"])) == order.grand_total
    assert Decimal(str(read_order["total_refunded"])) == order.total_refunded
    assert read_customer is not None
    assert (read_customer["id"], read_customer["email"]) == (customer.id, ADA)
    assert read_product is not None and read_product["price"] == 92
    assert totals is not None and Decimal(str(totals["grand_total"])) == cart.grand_total
    assert await commerce.client.order(999_999) is None
    assert await commerce.client.customer(999_999) is None
    assert await commerce.client.product("NO-SUCH-SKU") is None
    assert await commerce.client.cart_totals(999_999) is None


async def test_select_attribute_option_ids_resolve_to_labels_with_one_fetch_per_attribute(
    commerce: Commerce,
) -> None:
    product = await commerce.client.product("24-MB01")
    assert product is not None
    values = {row["attribute_code"]: row["value"] for row in product["custom_attributes"]}

    color = await commerce.client.labels.attribute_label("color", values["color"])
    material = await commerce.client.labels.attribute_label("material", values["material"])
    again = await commerce.client.labels.attribute_label("color", values["color"])

    assert (color, material, again) == ("Black", "Polyester", "Black")
    assert await commerce.client.attribute_options("size") == {
        "166": "XS",
        "167": "S",
        "168": "M",
        "169": "L",
    }
    option_reads = commerce.network.to("GET", "/rest/default/V1/products/attributes/")
    assert [e.path.split("/")[-2] for e in option_reads] == ["color", "material", "size"]


async def test_custom_option_value_ids_on_order_items_resolve_to_titles(
    commerce: Commerce,
) -> None:
    store = commerce.store
    orders = [o for o in store.orders.values() if o.email in (ADA, "alan@example.com")]
    resolved: dict[str, list[ResolvedOption | None]] = {}
    for order in orders:
        read = await commerce.client.order(order.entity_id)
        assert read is not None
        for item in read["items"]:
            extension = item.get("product_option", {}).get("extension_attributes", {})
            for chosen in extension.get("custom_options", []):
                option = await commerce.client.labels.custom_option(
                    item["sku"], chosen["option_id"], chosen["option_value"]
                )
                resolved.setdefault(item["sku"], []).append(option)

    assert resolved == {
        "24-MB01": [ResolvedOption("Gift wrap", "Recycled paper")],
        "24-WG02": [
            ResolvedOption("Engraving", "A.L."),
            ResolvedOption("Extras", "Spare strap, Travel pouch"),
        ],
    }
    assert len(commerce.network.to("GET", "/rest/default/V1/products/24-WG02/options")) == 1


async def test_unsubscribing_a_customer_reads_back_as_not_subscribed(commerce: Commerce) -> None:
    ada = commerce.store.find_customer(ADA)
    assert ada is not None
    before = await commerce.client.customer(ada.id)
    assert before is not None and before["extension_attributes"]["is_subscribed"] is True
    assert commerce.store.subscribers[ADA].status == SUBSCRIBED

    await commerce.client.unsubscribe_customer(ada.id)
    after = await commerce.client.customer(ada.id)

    assert after is not None
    assert after["extension_attributes"]["is_subscribed"] is False
    assert {k: after[k] for k in ("email", "firstname", "lastname")} == {
        k: before[k] for k in ("email", "firstname", "lastname")
    }
    assert commerce.store.subscribers[ADA].status == UNSUBSCRIBED


async def test_a_fastly_429_is_retried_after_its_retry_after(commerce: Commerce) -> None:
    # With seed 7 the dice roll 0.32, 0.15, 0.65: two 429s, then through.
    await commerce.faults(rest_429_rate=0.5, seed=7)

    result = await commerce.client.orders(by_email(commerce))

    assert result.total_count == 2
    assert [e.status for e in commerce.network.exchanges] == [429, 429, 200]
    assert commerce.network.exchanges[0].headers["Retry-After"] == "1"
    assert commerce.time.sleeps == [1.0, 1.0]


async def test_a_429_that_lasts_ends_as_rate_limited_after_the_last_attempt(
    commerce: Commerce,
) -> None:
    await commerce.faults(rest_429_rate=1.0)

    with pytest.raises(RateLimited) as raised:
        await commerce.client.order(min(commerce.store.orders))

    assert raised.value.retry_after == 1.0
    assert [e.status for e in commerce.network.exchanges] == [429] * 5
    assert commerce.time.sleeps == [1.0] * 4
