"""Browse intent end to end: the store's SDK events POSTed to the worker's collector, identity
from Commerce's carts and customers, enrolments and category history in Dotdigital; the
collector's limits under a flood and hostile bodies."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from sandbox.commerce.simulator.store import Store
from sandbox.commerce.simulator.storefront import STORE_URL
from tests.support.accounts import CLIENT_ID
from tests.support.stack import Stack, accepted, enrolments_of, eventually, running_stack

pytestmark = pytest.mark.integration

BROWSE_PROGRAM = 7
SKU = "MJ01-S-Red"
CATEGORY = "men-jackets"  # the slug of MJ01-S-Red's category, Men/Jackets
BROWSER = {
    "Origin": STORE_URL,
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Content-Type": "text/plain;charset=UTF-8",
}
FLOOD = 10_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("storefront-logs"),
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5",
        CARTWRIGHT_PROGRAMS__BROWSE_ABANDONED=str(BROWSE_PROGRAM),
        CARTWRIGHT_STOREFRONT__ALLOWED_ORIGINS=STORE_URL,
    ) as running:
        running.dotdigital.admin("programs", {"programs": {str(BROWSE_PROGRAM): True}})
        yield running


def unique(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@example.com"


def collect(stack: Stack, events: list[dict[str, Any]], **headers: str) -> httpx.Response:
    """The events as one batch beacon from a shopper's browser on the store's pages."""
    return httpx.post(
        f"{stack.worker_url}/storefront/events",
        content=orjson.dumps(events),
        headers={**BROWSER, **headers},
        timeout=15,
    )


def views_of(store: Store, count: int, shopper: Any, cart: Any) -> list[dict[str, Any]]:
    """`count` views of SKU a second apart (the same page at the same millisecond is one event)."""
    views = []
    for _ in range(count):
        store.clock.advance(1)
        views.append(store.view_product(SKU, shopper, cart))
    return views


def category_views(stack: Stack, email: str, views: int) -> dict[str, Any]:
    """The contact's CategoryHistory record once it counts `views`: every event was folded."""

    def check() -> dict[str, Any] | None:
        found = stack.dotdigital.record(email, "CategoryHistory", CATEGORY)
        return found["json"] if found and found["json"]["views"] == views else None

    return eventually(check, timeout=60, what=f"{CATEGORY} viewed {views} times by {email}")


def test_third_view_enrols_once_and_more_views_do_not(stack: Stack) -> None:
    email = unique("browser")

    def browse(store: Store) -> tuple[list[dict[str, Any]], Any, Any]:
        customer = store.register(email, "Bea", "Browser")
        cart = store.open_cart(customer)
        return views_of(store, 3, customer, cart), customer, cart

    views, customer, cart = stack.commerce.act(browse)
    assert collect(stack, views).status_code == 202

    eventually(lambda: enrolments_of(stack, email) == [BROWSE_PROGRAM], timeout=60, what="one")
    more = stack.commerce.act(lambda store: views_of(store, 1, customer, cart))
    collect(stack, more + views)  # the views resent among them change nothing
    assert category_views(stack, email, 4)["category"] == "Men/Jackets"
    assert enrolments_of(stack, email) == [BROWSE_PROGRAM]


def test_a_purchase_of_the_sku_first_means_no_enrolment(stack: Stack) -> None:
    email = unique("bought")

    def buy(store: Store) -> str:
        guest = store.guest(email, "Bo", "Ught")
        return store.place_order(guest, [store.catalogue.line(SKU, 1)]).increment_id

    number = stack.commerce.act(buy)
    eventually(lambda: stack.dotdigital.record(email, "Orders", number), timeout=60, what="order")

    def browse(store: Store) -> list[dict[str, Any]]:
        guest = store.guest(email, "Bo", "Ught")
        cart = store.open_cart()
        views = views_of(store, 3, guest, cart)
        store.reach_payment(cart, guest)
        return views

    assert collect(stack, stack.commerce.act(browse)).status_code == 202
    category_views(stack, email, 3)
    assert enrolments_of(stack, email) == []


def test_a_guests_browsing_joins_the_email_given_at_payment(stack: Stack) -> None:
    email = unique("guest")

    def browse(store: Store) -> tuple[list[dict[str, Any]], Any, Any]:
        guest = store.guest(email, "Gus", "Guest")
        cart = store.open_cart()
        store.add_to_cart(cart, store.catalogue.line(SKU, 1), guest)
        return views_of(store, 3, guest, cart), cart, guest

    views, cart, guest = stack.commerce.act(browse)
    assert all("accountContext" not in view["eventInfo"] for view in views)
    assert collect(stack, views).status_code == 202
    assert stack.dotdigital.contact(email) is None

    stack.commerce.act(lambda store: store.reach_payment(cart, guest))

    eventually(lambda: enrolments_of(stack, email) == [BROWSE_PROGRAM], timeout=60, what="one")


def test_hostile_requests_are_refused_with_4xx(stack: Stack) -> None:
    url = f"{stack.worker_url}/storefront/events"
    good = stack.commerce.act(lambda store: store.view_product(SKU))
    wrong_types = {**good, "eventInfo": {"productContext": {"sku": ["x"]}}}
    cases = {
        "wrong types": (orjson.dumps(wrong_types), BROWSER, 422),
        "huge": (b'{"event": "' + b"x" * 200_000 + b'"}', BROWSER, 413),
        "not json": (b"<html>", BROWSER, 400),
        "deep": (b"[" * 5000 + b"]" * 5000, BROWSER, 400),
        "bad origin": (orjson.dumps(good), {**BROWSER, "Origin": "https://evil.example"}, 403),
        "no origin": (orjson.dumps(good), {"User-Agent": BROWSER["User-Agent"]}, 403),
    }
    for name, (body, headers, status) in cases.items():
        response = httpx.post(url, content=body, headers=headers, timeout=15)
        assert response.status_code == status, (name, response.text)
        assert response.status_code in (204,) or len(response.json()["error"]) < 120

    preflight = httpx.options(url, headers={**BROWSER, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == STORE_URL
    refused = httpx.options(url, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    bot = httpx.post(
        url, content=orjson.dumps(good), headers={**BROWSER, "User-Agent": "Googlebot/2.1"}
    )
    assert bot.status_code == 204
    counts = httpx.get(f"{stack.worker_url}/ops/status").json()["counts"]
    assert counts["storefront.dropped_bot"] >= 1 and counts["storefront.refused_origin"] >= 2


async def _flood(url: str, body: bytes, count: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        pending = iter(range(count))

        async def worker() -> None:
            for _ in pending:
                response = await client.post(url, content=body, headers=BROWSER)
                statuses[response.status_code] += 1

        await asyncio.gather(*(worker() for _ in range(64)))
    return statuses


def test_a_flood_from_one_client_is_limited_and_other_work_goes_on(stack: Stack) -> None:
    url = f"{stack.worker_url}/storefront/events"
    body = orjson.dumps(stack.commerce.act(lambda store: store.view_product(SKU)))
    shop = Store(seed=uuid.uuid4().int % 10_000, client_id=CLIENT_ID)
    placed: dict[str, str] = {}
    latencies: list[float] = []

    async def orders_meanwhile(client: httpx.AsyncClient, flood: asyncio.Task[Any]) -> None:
        """An order at a time, signed, to the webhook for as long as the flood lasts."""
        while not flood.done():
            email = unique("during")
            start = len(shop.events)
            order = shop.place_order(
                shop.guest(email, "Dur", "Ing"), [shop.catalogue.line("24-UG06", 1)]
            )
            placed[email] = order.increment_id
            for event in list(shop.events)[start:]:
                raw = orjson.dumps(event)
                headers = stack.signer.headers(raw, str(event["eventid"]))
                sent = time.monotonic()
                accepted(await client.post(stack.webhook, content=raw, headers=headers))
                latencies.append(time.monotonic() - sent)
            await asyncio.sleep(0.5)  # a steady trickle of orders, not a second flood

    async def flood_and_orders() -> tuple[Counter[int], float]:
        started = time.monotonic()
        flood = asyncio.create_task(_flood(url, body, FLOOD))
        async with httpx.AsyncClient(timeout=15) as client:
            await orders_meanwhile(client, flood)
        return await flood, time.monotonic() - started

    statuses, took = asyncio.run(flood_and_orders())
    for email, number in placed.items():
        eventually(
            lambda: stack.dotdigital.record(email, "Orders", number),  # noqa: B023
            timeout=60,
            what=f"order {number} sent during the flood",
        )
    ordered = sorted(latencies)
    p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)]
    print(
        f"flood: {FLOOD} requests in {took:.1f} s: {dict(statuses)}; webhook during it: "
        f"{len(placed)} orders, p50 {ordered[len(ordered) // 2] * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )
    assert sum(statuses.values()) == FLOOD
    assert set(statuses) <= {202, 429}
    # The burst, then the rate (5 a second) for as long as the flood lasted.
    assert statuses[202] <= 20 + 5 * (took + 1)
    assert statuses[429] >= FLOOD * 0.9
    assert p99 < 1.0  # the collector never holds up the webhook
