"""The store's REST API over HTTP: Bearer and OAuth 1.0a, listings, reads and the write-back."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from urllib.parse import quote, urlsplit

import httpx
import pytest

from sandbox.commerce.api.auth import IntegrationCredentials
from sandbox.commerce.api.config import CommerceSandboxConfig
from sandbox.commerce.model.customers import SUBSCRIBED
from sandbox.commerce.simulator.events import CUSTOMER_SAVED, SUBSCRIBER_SAVED
from sandbox.commerce.simulator.store import Store
from tests.support.accounts import CLIENT_ID
from tests.support.commerce import Commerce, commerce_sandbox

CONSUMER_KEY, CONSUMER_SECRET = "ck-test", "cs-test"
TOKEN, TOKEN_SECRET = "at-test", "ats-test"


def scenario() -> Store:
    store = Store(seed=3)
    ada = store.register("ada@example.com", "Ada", "Lovelace")
    store.subscribe("ada@example.com", SUBSCRIBED)
    grace = store.guest("grace@example.com", "Grace", "Hopper")
    for shopper, sku in ((ada, "24-MB01"), (grace, "24-MB04"), (ada, "24-UG06")):
        store.place_order(shopper, [store.catalogue.line(sku, 2)])
        store.clock.advance(60)
    first = store.orders[min(store.orders)]
    store.invoice(first)
    store.ship(first)
    store.refund(first, {"24-MB01": 1})
    store.open_cart(ada)
    return store


@pytest.fixture
async def commerce() -> AsyncIterator[Commerce]:
    config = CommerceSandboxConfig(client_id=CLIENT_ID)
    async with commerce_sandbox(scenario(), config) as running:
        yield running


def oauth_header(method: str, url: str, *, secret: str = CONSUMER_SECRET, nonce: str = "n1") -> str:
    """OAuth 1.0a HMAC-SHA256, written from RFC 5849 §3.4 independently of the sandbox."""

    def enc(text: str) -> str:
        return quote(text, safe="-._~")

    parts = urlsplit(url)
    oauth = {
        "oauth_consumer_key": CONSUMER_KEY,
        "oauth_token": TOKEN,
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": "1767225600",
        "oauth_nonce": nonce,
        "oauth_version": "1.0",
    }
    query = httpx.QueryParams(parts.query)
    params = sorted((enc(k), enc(v)) for k, v in [*query.multi_items(), *oauth.items()])
    normalized = "&".join(f"{k}={v}" for k, v in params)
    uri = f"{parts.scheme}://{parts.netloc.lower()}{parts.path}"
    base = "&".join([method, enc(uri), enc(normalized)])
    key = f"{enc(secret)}&{enc(TOKEN_SECRET)}".encode()
    oauth["oauth_signature"] = base64.b64encode(
        hmac.new(key, base.encode(), hashlib.sha256).digest()
    ).decode()
    return "OAuth " + ", ".join(f'{k}="{enc(v)}"' for k, v in oauth.items())


def criteria(*filters: tuple[str, str, str], **extra: str) -> dict[str, str]:
    params = {}
    for index, (field, value, condition) in enumerate(filters):
        prefix = f"searchCriteria[filter_groups][{index}][filters][0]"
        params.update({f"{prefix}[field]": field, f"{prefix}[value]": value,
                       f"{prefix}[condition_type]": condition})  # fmt: skip
    params.update({f"searchCriteria[{k}]": v for k, v in extra.items()})
    return params or {"searchCriteria": ""}


async def test_bearer_token_is_accepted_and_a_wrong_one_gets_commerce_401(
    commerce: Commerce,
) -> None:
    assert (await commerce.api.get("/rest/default/V1/orders", params=criteria())).status_code == 200
    wrong = await commerce.anonymous.get(
        "/rest/default/V1/orders", params=criteria(), headers={"Authorization": "Bearer nope"}
    )
    missing = await commerce.anonymous.get("/rest/default/V1/customers/search", params=criteria())
    assert wrong.status_code == missing.status_code == 401
    assert wrong.json() == {
        "message": "The consumer isn't authorized to access %resources.",
        "parameters": {"resources": "Magento_Sales::actions_view"},
    }
    assert missing.json()["parameters"] == {"resources": "Magento_Customer::customer"}


async def test_bearer_can_be_switched_off() -> None:
    config = CommerceSandboxConfig(
        client_id=CLIENT_ID, credentials=IntegrationCredentials(bearer_enabled=False)
    )
    async with commerce_sandbox(config=config) as commerce:
        response = await commerce.api.get("/rest/default/V1/orders", params=criteria())
        assert response.status_code == 401


@pytest.fixture
async def oauth_commerce() -> AsyncIterator[Commerce]:
    credentials = IntegrationCredentials(CONSUMER_KEY, CONSUMER_SECRET, TOKEN, TOKEN_SECRET)
    config = CommerceSandboxConfig(client_id=CLIENT_ID, credentials=credentials)
    async with commerce_sandbox(scenario(), config) as running:
        yield running


async def test_oauth_signature_with_query_parameters_is_accepted(oauth_commerce: Commerce) -> None:
    url = str(
        httpx.URL(oauth_commerce.base_url + "/rest/default/V1/orders",
                  params=criteria(("customer_email", "ada@example.com", "eq"), pageSize="5"))
    )  # fmt: skip
    response = await oauth_commerce.anonymous.get(
        url, headers={"Authorization": oauth_header("GET", url)}
    )
    assert response.status_code == 200, response.text
    assert response.json()["total_count"] == 2


async def test_oauth_signature_with_a_wrong_secret_tampering_or_replay_is_refused(
    oauth_commerce: Commerce,
) -> None:
    url = oauth_commerce.base_url + "/rest/default/V1/products/24-MB01"
    wrong_secret = oauth_header("GET", url, secret="not-the-secret", nonce="a")
    signed_other = oauth_header("GET", url.replace("24-MB01", "24-MB04"), nonce="b")
    good = oauth_header("GET", url, nonce="c")
    client = oauth_commerce.anonymous
    assert (await client.get(url, headers={"Authorization": wrong_secret})).status_code == 401
    assert (await client.get(url, headers={"Authorization": signed_other})).status_code == 401
    assert (await client.get(url, headers={"Authorization": good})).status_code == 200
    replay = await client.get(url, headers={"Authorization": good})
    assert replay.status_code == 401
    assert replay.json()["parameters"] == {"resources": "Magento_Catalog::products"}


async def test_orders_list_filters_sorts_and_repeats_the_last_page(commerce: Commerce) -> None:
    params = criteria(("customer_email", "%@example.com", "like"), pageSize="2", currentPage="7")
    params["searchCriteria[sortOrders][0][field]"] = "created_at"
    body = (await commerce.api.get("/rest/default/V1/orders", params=params)).json()
    assert body["total_count"] == 3
    assert [item["customer_email"] for item in body["items"]] == ["ada@example.com"]
    assert body["items"][0]["created_at"] == "2026-11-26 09:00:00", "DESC: the oldest is last"
    assert body["search_criteria"]["sort_orders"] == [{"field": "created_at", "direction": "DESC"}]
    assert body["search_criteria"]["current_page"] == 7


async def test_rest_rows_use_real_numbers_and_commerce_dates(commerce: Commerce) -> None:
    order = commerce.store.orders[min(commerce.store.orders)]
    body = (await commerce.api.get(f"/rest/default/V1/orders/{order.entity_id}")).json()
    assert body["entity_id"] == order.entity_id and isinstance(body["grand_total"], float)
    assert body["items"][0]["qty_ordered"] == 2 and body["state"] == "complete"
    assert body["billing_address"]["street"] == ["1 Loom Lane"]
    assert body["updated_at"] == "2026-11-26 09:03:00"
    missing = await commerce.api.get("/rest/all/V1/orders/999")
    assert missing.status_code == 404 and "doesn't exist" in missing.json()["message"]


async def test_documents_customers_carts_and_products(commerce: Commerce) -> None:
    api = commerce.api
    memos = (await api.get("/rest/default/V1/creditmemos", params=criteria())).json()
    assert memos["items"][0]["items"][0]["sku"] == "24-MB01" and memos["total_count"] == 1
    shipments = (await api.get("/rest/default/V1/shipments", params=criteria())).json()
    assert shipments["items"][0]["tracks"][0]["carrier_code"] == "ups"
    customers = (await api.get("/rest/default/V1/customers/search",
                               params=criteria(("email", "ADA@example.com", "eq")))).json()  # fmt: skip
    assert customers["items"][0]["extension_attributes"] == {"is_subscribed": True}
    carts = (await api.get("/rest/default/V1/carts/search",
                           params=criteria(("is_active", "1", "eq")))).json()  # fmt: skip
    assert carts["total_count"] == 1
    cart_id = max(commerce.store.quotes)
    totals = (await api.get(f"/rest/default/V1/carts/{cart_id}/totals")).json()
    assert totals["grand_total"] == 0 and totals["items"] == []
    products = (await api.get("/rest/default/V1/products",
                              params=criteria(("color", "49", "eq")))).json()  # fmt: skip
    assert {item["sku"] for item in products["items"]} == {
        "24-MB01",
        "24-WG02",
        "MJ01-S-Black",
        "MJ01-M-Black",
    }
    colors = (await api.get("/rest/default/V1/products/attributes/color/options")).json()
    assert {"label": "Black", "value": "49"} in colors and colors[0] == {"label": " ", "value": ""}
    options = (await api.get("/rest/default/V1/products/24-MB01/options")).json()
    assert options[0]["values"][1] == {
        "title": "Recycled paper", "sort_order": 2, "price": 2, "price_type": "fixed",
        "option_type_id": 22,
    }  # fmt: skip
    assert (await api.get("/rest/default/V1/products/nope")).status_code == 404


async def test_put_customer_unsubscribes_and_emits_customer_and_subscriber_saves(
    commerce: Commerce,
) -> None:
    ada = commerce.store.find_customer("ada@example.com")
    assert ada is not None
    body = (await commerce.api.get(f"/rest/default/V1/customers/{ada.id}")).json()
    body["extension_attributes"]["is_subscribed"] = False
    response = await commerce.api.put(
        f"/rest/default/V1/customers/{ada.id}", json={"customer": body}
    )
    assert response.status_code == 200
    assert response.json()["extension_attributes"] == {"is_subscribed": False}
    published = [entry[1] for entry in commerce.sandbox.journal.read(None, 10)]
    assert [event["type"] for event in published] == [CUSTOMER_SAVED, SUBSCRIBER_SAVED]
    assert published[1]["data"]["value"]["subscriber_status"] == "3"


async def test_put_customer_needs_commerce_required_fields(commerce: Commerce) -> None:
    ada = commerce.store.find_customer("ada@example.com")
    assert ada is not None
    response = await commerce.api.put(
        f"/rest/default/V1/customers/{ada.id}",
        json={"customer": {"extension_attributes": {"is_subscribed": False}}},
    )
    assert response.status_code == 400
    assert response.json()["parameters"] == {"fieldName": "email"}


async def test_listing_without_search_criteria_and_unknown_store_are_refused(
    commerce: Commerce,
) -> None:
    missing = await commerce.api.get("/rest/default/V1/orders")
    assert missing.status_code == 400
    assert missing.json()["parameters"] == {"fieldName": "searchCriteria"}
    unknown = await commerce.api.get("/rest/nowhere/V1/orders", params=criteria())
    assert unknown.status_code == 404
    assert (await commerce.api.get("/rest/all/V1/orders", params=criteria())).status_code == 200


async def test_rest_429_fault_answers_like_fastly(commerce: Commerce) -> None:
    await commerce.admin("faults", {"rest_429_rate": 1.0})
    throttled = await commerce.api.get("/rest/default/V1/orders", params=criteria())
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "1"
    await commerce.admin("reset", {})
    assert (await commerce.api.get("/rest/default/V1/orders", params=criteria())).status_code == 200
