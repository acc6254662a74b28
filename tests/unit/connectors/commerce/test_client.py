"""The Commerce client against a store at the transport seam: reads, write-back, errors, retries."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from connectors.commerce.auth import BearerAuth
from connectors.commerce.client import CommerceClient
from connectors.commerce.search import SearchCriteria
from connectors.errors import FatalError, RateLimited, RetriableError, SkippableError
from tests.support.fakecommerce import FakeCommerce, reply
from tests.support.faketime import FakeTime

CUSTOMER = {
    "id": 7,
    "group_id": 1,
    "email": "jane@example.com",
    "firstname": "Jane",
    "lastname": "Doe",
    "store_id": 1,
    "website_id": 1,
    "addresses": [{"id": 3, "city": "Leeds", "default_billing": True}],
    "extension_attributes": {"is_subscribed": True, "assistance_allowed": 2},
}


@pytest.fixture
def store() -> FakeCommerce:
    fake = FakeCommerce()
    fake.tables["orders"] = [{"entity_id": 1, "increment_id": "000000001", "state": "new"}]
    fake.tables["customers"] = [dict(CUSTOMER)]
    fake.tables["products"] = [{"id": 5, "sku": "MUG/BLUE 1", "name": "Mug"}]
    fake.totals["12"] = {"grand_total": 30.0, "items_qty": 2}
    return fake


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def client(store: FakeCommerce, time: FakeTime, **options: Any) -> CommerceClient:
    return CommerceClient(
        "https://shop.example.com",
        auth=BearerAuth(SecretStr("integration-token")),
        transport=store.transport(),
        clock=time.clock,
        wall_clock=time.wall_clock,
        sleep=time.sleep,
        jitter=lambda: 0.5,
        **options,
    )


# --- reads ---------------------------------------------------------------------------------------


async def test_single_reads_return_the_entity_or_none_when_missing(
    store: FakeCommerce, time: FakeTime
) -> None:
    async with client(store, time) as commerce:
        assert (await commerce.order(1) or {})["increment_id"] == "000000001"
        assert await commerce.order(99) is None
        assert (await commerce.customer(7) or {})["firstname"] == "Jane"
        assert await commerce.customer(8) is None
        assert await commerce.cart_totals(12) == {"grand_total": 30.0, "items_qty": 2}
        assert await commerce.cart_totals(13) is None
        assert (await commerce.product("MUG/BLUE 1") or {})["id"] == 5
        assert await commerce.product("NOPE") is None


async def test_skus_are_one_encoded_path_segment_below_the_store_code(time: FakeTime) -> None:
    store = FakeCommerce(store_code="en_gb")
    store.tables["products"] = [{"id": 5, "sku": "MUG/BLUE 1"}]
    async with client(store, time, store_code="en_gb") as commerce:
        await commerce.product("MUG/BLUE 1")

    assert store.requests[0].url.raw_path == b"/rest/en_gb/V1/products/MUG%2FBLUE%201"


@pytest.mark.parametrize("sku", ["..", "."])
async def test_a_dot_segment_sku_is_refused_before_anything_is_sent(
    store: FakeCommerce, time: FakeTime, sku: str
) -> None:
    async with client(store, time) as commerce:
        with pytest.raises(SkippableError, match="refused"):
            await commerce.product_options(sku)
        with pytest.raises(SkippableError, match="refused"):
            await commerce.product(sku)

    assert store.requests == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("orders", "/V1/orders"),
        ("creditmemos", "/V1/creditmemos"),
        ("shipments", "/V1/shipments"),
        ("search_customers", "/V1/customers/search"),
        ("search_carts", "/V1/carts/search"),
        ("products", "/V1/products"),
    ],
)
async def test_each_search_method_reads_its_endpoint(
    store: FakeCommerce, time: FakeTime, method: str, path: str
) -> None:
    async with client(store, time) as commerce:
        await getattr(commerce, method)(SearchCriteria().page(1))

    assert store.requests[0].url.path == "/rest/default" + path


# --- write-back ----------------------------------------------------------------------------------


async def test_unsubscribe_customer_puts_back_the_customer_read_with_is_subscribed_false(
    store: FakeCommerce, time: FakeTime
) -> None:
    async with client(store, time) as commerce:
        saved = await commerce.unsubscribe_customer(7)

    put = store.requests[-1]
    assert (put.method, put.url.path) == ("PUT", "/rest/default/V1/customers/7")
    assert put.headers["Content-Type"] == "application/json"
    assert orjson.loads(put.content) == {
        "customer": {
            **CUSTOMER,
            "extension_attributes": {"is_subscribed": False, "assistance_allowed": 2},
        }
    }
    assert saved["extension_attributes"]["is_subscribed"] is False


async def test_unsubscribing_a_customer_commerce_does_not_know_is_skippable(
    store: FakeCommerce, time: FakeTime
) -> None:
    async with client(store, time) as commerce:
        with pytest.raises(SkippableError) as caught:
            await commerce.unsubscribe_customer(404)

    assert caught.value.status == 404
    assert [r.method for r in store.requests] == ["GET"]


async def test_unsubscribing_a_customer_already_not_subscribed_saves_nothing(
    store: FakeCommerce, time: FakeTime
) -> None:
    store.tables["customers"] = [
        {**CUSTOMER, "extension_attributes": {"is_subscribed": False, "assistance_allowed": 2}}
    ]

    async with client(store, time) as commerce:
        read = await commerce.unsubscribe_customer(7)

    assert [r.method for r in store.requests] == ["GET"]
    assert read["extension_attributes"]["is_subscribed"] is False


# --- errors and retries --------------------------------------------------------------------------


async def test_429_from_fastly_is_retried_after_its_retry_after(
    store: FakeCommerce, time: FakeTime
) -> None:
    store.faults.append(httpx.Response(429, headers={"Retry-After": "7"}, text="Too Many Requests"))

    async with client(store, time) as commerce:
        result = await commerce.orders(SearchCriteria())

    assert result.total_count == 1
    assert time.sleeps == [7.0]
    assert len(store.requests) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retried_with_backoff(
    store: FakeCommerce, time: FakeTime, status: int
) -> None:
    store.faults += [reply(status, {"message": "Internal Error"}), httpx.Response(status)]

    async with client(store, time, base_delay=2.0) as commerce:
        assert await commerce.order(1) is not None

    assert time.sleeps == [1.0, 2.0]  # jitter 0.5 of 2 s, then of 4 s


async def test_retries_end_with_the_retriable_error_after_the_last_attempt(
    store: FakeCommerce, time: FakeTime
) -> None:
    store.faults += [httpx.Response(429, headers={"Retry-After": "3"}) for _ in range(3)]

    async with client(store, time, attempts=3) as commerce:
        with pytest.raises(RateLimited) as caught:
            await commerce.orders(SearchCriteria())

    assert caught.value.retry_after == 3.0
    assert time.sleeps == [3.0, 3.0]


@pytest.mark.parametrize("status", [401, 403])
async def test_authorization_failures_are_fatal_and_not_retried(
    store: FakeCommerce, time: FakeTime, status: int
) -> None:
    store.faults.append(
        reply(status, {"message": "The consumer isn't authorized to access %resources."})
    )

    async with client(store, time) as commerce:
        with pytest.raises(FatalError) as caught:
            await commerce.orders(SearchCriteria())

    assert caught.value.status == status
    assert time.sleeps == []


async def test_a_wrong_token_is_fatal(store: FakeCommerce, time: FakeTime) -> None:
    async with CommerceClient(
        "https://shop.example.com",
        auth=BearerAuth(SecretStr("stale-token")),
        transport=store.transport(),
        sleep=time.sleep,
    ) as commerce:
        with pytest.raises(FatalError, match="HTTP 401"):
            await commerce.order(1)


async def test_bad_requests_are_skippable(store: FakeCommerce, time: FakeTime) -> None:
    store.faults.append(reply(400, {"message": '"%fieldName" is required.'}))

    async with client(store, time) as commerce:
        with pytest.raises(SkippableError) as caught:
            await commerce.orders(SearchCriteria())

    assert caught.value.status == 400


async def test_option_lists_of_unknown_products_are_skippable(
    store: FakeCommerce, time: FakeTime
) -> None:
    async with client(store, time) as commerce:
        with pytest.raises(SkippableError):
            await commerce.product_options("NOPE")
        with pytest.raises(SkippableError):
            await commerce.attribute_options("nope")


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
    ids=type,
)
async def test_transport_failures_become_retriable_errors_without_httpx_attached(
    store: FakeCommerce, time: FakeTime, failure: Exception
) -> None:
    store.faults += [failure, failure]

    async with client(store, time, attempts=2) as commerce:
        with pytest.raises(RetriableError) as caught:
            await commerce.order(1)

    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    assert len(store.requests) == 2


async def test_a_success_with_a_broken_body_is_retried(store: FakeCommerce, time: FakeTime) -> None:
    store.faults.append(httpx.Response(200, text="<html>Bad gateway</html>"))

    async with client(store, time) as commerce:
        assert await commerce.order(1) is not None

    assert len(time.sleeps) == 1


async def test_a_reply_of_the_wrong_shape_is_fatal(store: FakeCommerce, time: FakeTime) -> None:
    store.faults.append(reply(200, ["not", "an", "order"]))

    async with client(store, time) as commerce:
        with pytest.raises(FatalError):
            await commerce.order(1)


async def test_paths_outside_v1_are_refused(store: FakeCommerce, time: FakeTime) -> None:
    async with client(store, time) as commerce:
        with pytest.raises(ValueError):
            await commerce.search("orders", SearchCriteria())


async def test_emails_in_errors_and_logs_are_masked(
    store: FakeCommerce, time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store.faults.append(reply(400, {"message": "A customer with jane@example.com already exists"}))

    async with client(store, time) as commerce:
        with pytest.raises(SkippableError) as caught:
            await commerce.orders(
                SearchCriteria().where("customer_email", "eq", "jane@example.com")
            )
        await commerce.unsubscribe_customer(7)

    assert "jane@example.com" not in str(caught.value)
    assert "j***@example.com" in str(caught.value)
    assert "jane@example.com" not in caplog.text
    assert "integration-token" not in caplog.text
