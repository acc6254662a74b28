"""Delivery like Adobe I/O against a real webhook: signatures, retries, and injected faults."""

from __future__ import annotations

import asyncio
import base64
import time
from collections import Counter
from collections.abc import AsyncIterator

import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.commerce.adobe_io.delivery import RETRY_SCHEDULE, Deliverer, retried
from sandbox.commerce.api.config import CommerceSandboxConfig
from sandbox.commerce.api.server import serve
from sandbox.commerce.simulator.store import Store
from sandbox.commerce.simulator.storefront import STORE_URL
from tests.support.accounts import CLIENT_ID
from tests.support.commerce import SIGNER, Commerce, commerce_sandbox
from tests.support.faketime import FakeTime
from tests.support.webhook import Receiver, receiver

SCALE = 1.0 / 60.0


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    async with receiver() as running:
        yield running


@pytest.fixture
async def commerce(hook: Receiver) -> AsyncIterator[Commerce]:
    config = CommerceSandboxConfig(client_id=CLIENT_ID, webhook_url=hook.url, time_scale=1.0)
    async with commerce_sandbox(Store(seed=21, client_id=CLIENT_ID), config) as running:
        yield running


def orders(store: Store, count: int, *, gap: float = 0.0, time: FakeTime | None = None) -> None:
    """`count` guest orders, `gap` simulated seconds apart (the outbox's fake clock moves too)."""
    for number in range(count):
        guest = store.guest(f"g{number}@example.com", "G", f"N{number}")
        store.place_order(guest, [store.catalogue.line("24-MB01", 1)])
        store.clock.advance(gap)
        if time is not None:
            time.now += gap


@pytest.mark.parametrize(("status", "again"), [(429, True), (500, True), (503, True),
                                                (505, False), (400, False), (404, False)])  # fmt: skip
def test_only_429_and_5xx_but_505_are_retried(status: int, again: bool) -> None:
    assert retried(status) is again


async def test_503_is_retried_on_adobes_schedule_then_delivered(hook: Receiver) -> None:
    clock = FakeTime()
    hook.statuses = [503, 503, 503, 200]
    deliverer = Deliverer(hook.url, SIGNER, time_scale=SCALE, sleep=clock.sleep)
    store = Store(seed=1)
    orders(store, 1)
    try:
        assert await deliverer.deliver(store.events[-1])
    finally:
        await deliverer.aclose()
    assert clock.sleeps == [pytest.approx(1.0), pytest.approx(2.0), pytest.approx(4.0)]
    retry_counts = [r.headers.get("x-adobe-retry-count") for r in hook.receipts]
    assert retry_counts == [None, "1", "2", "3"]
    assert (deliverer.stats.delivered, deliverer.stats.retried) == (1, 3)
    fate = deliverer.fates[store.events[-1]["eventid"]]
    assert (fate.statuses, fate.outcome) == ([503, 503, 503, 200], "delivered")


async def test_deliveries_to_several_webhooks_go_round_robin_as_behind_a_balancer() -> None:
    async with receiver() as first, receiver() as second:
        deliverer = Deliverer([first.url, second.url], SIGNER)
        store = Store(seed=3)
        orders(store, 5)
        try:
            for event in store.events:
                assert await deliverer.deliver(event)
        finally:
            await deliverer.aclose()

    ids = [event["eventid"] for event in store.events]
    assert [event["eventid"] for event in first.events()] == ids[0::2]
    assert [event["eventid"] for event in second.events()] == ids[1::2]


async def test_other_statuses_drop_the_event_at_once(hook: Receiver) -> None:
    clock = FakeTime()
    hook.statuses = [400]
    deliverer = Deliverer(hook.url, SIGNER, sleep=clock.sleep)
    store = Store(seed=1)
    orders(store, 1)
    try:
        assert not await deliverer.deliver(store.events[-1])
    finally:
        await deliverer.aclose()
    assert clock.sleeps == [] and deliverer.stats.dropped == 1
    assert deliverer.fates[store.events[-1]["eventid"]].outcome == "dropped"


async def test_adobe_gives_up_after_24_hours_of_failures(hook: Receiver) -> None:
    clock = FakeTime()
    hook.statuses = [503] * 200
    deliverer = Deliverer(hook.url, SIGNER, sleep=clock.sleep)
    store = Store(seed=1)
    orders(store, 1)
    try:
        assert not await deliverer.deliver(store.events[-1])
    finally:
        await deliverer.aclose()
    assert clock.sleeps[:5] == [60.0, 120.0, 240.0, 480.0, 900.0]
    assert len(hook.receipts) == 1 + len(RETRY_SCHEDULE)
    assert 23 * 3600 < sum(clock.sleeps) <= 24 * 3600


async def test_deliveries_are_signed_with_the_published_keys(
    commerce: Commerce, hook: Receiver
) -> None:
    orders(commerce.store, 1)
    await commerce.sandbox.outbox.drain()
    receipt = hook.receipts[0]
    raw = receipt.raw
    for n in (1, 2):
        pem = await commerce.anonymous.get(receipt.headers[f"x-adobe-public-key{n}-path"])
        key = serialization.load_pem_public_key(pem.content)
        assert isinstance(key, rsa.RSAPublicKey)
        signature = base64.b64decode(receipt.headers[f"x-adobe-digital-signature-{n}"])
        key.verify(signature, raw, padding.PKCS1v15(), hashes.SHA256())
    assert receipt.headers["x-adobe-event-code"] == receipt.body["type"]
    assert receipt.body["recipientclientid"] == CLIENT_ID


async def test_duplicates_repeat_the_same_eventid(commerce: Commerce, hook: Receiver) -> None:
    await commerce.admin("faults", {"duplicate_rate": 1.0, "seed": 4})
    orders(commerce.store, 3)
    await commerce.sandbox.outbox.drain()
    counts = Counter(event["eventid"] for event in hook.events())
    assert set(counts) == {event["eventid"] for event in commerce.store.events}
    assert set(counts.values()) == {2}
    status = await commerce.admin("status")
    assert status["duplicates"] == len(commerce.store.events) and status["delivered"] == 2 * len(
        counts
    )


async def test_republishes_carry_the_same_content_under_new_ids(
    commerce: Commerce, hook: Receiver
) -> None:
    await commerce.admin("faults", {"republish_rate": 1.0})
    orders(commerce.store, 2)
    await commerce.sandbox.outbox.drain()
    received = hook.events()
    assert len(received) == 2 * len(commerce.store.events)
    assert len({event["eventid"] for event in received}) == len(received)
    by_content = Counter(orjson.dumps(event["data"]) for event in received)
    assert set(by_content.values()) == {2}
    assert len(commerce.sandbox.journal) == len(received), "re-publishes reach the journal too"


async def test_reorder_window_shuffles_only_within_the_window(
    commerce: Commerce, hook: Receiver
) -> None:
    await commerce.admin("faults", {"reorder_window_seconds": 60, "seed": 8})
    orders(commerce.store, 12, gap=10.0, time=commerce.time)
    created = [event["eventid"] for event in commerce.store.events]
    await commerce.sandbox.outbox.drain()
    arrived = [event["eventid"] for event in hook.events()]
    assert sorted(arrived) == sorted(created) and arrived != created
    born = {
        event["eventid"]: number // 2 * 10.0 for number, event in enumerate(commerce.store.events)
    }
    for early, late in ((a, b) for a in created for b in created if born[b] - born[a] > 60):
        assert arrived.index(early) < arrived.index(late)


async def test_delay_holds_every_delivery_back(commerce: Commerce, hook: Receiver) -> None:
    await commerce.admin("faults", {"delay_seconds": 300})
    start = commerce.time.now
    orders(commerce.store, 1)
    await commerce.sandbox.outbox.drain()
    assert len(hook.receipts) == 2 and commerce.time.now - start >= 300


async def test_events_over_64_kb_are_never_created(commerce: Commerce, hook: Receiver) -> None:
    store = commerce.store
    guest = store.guest("big@example.com", "Big", "Basket")
    lines = [store.catalogue.line("MJ01-S-Red", 1, {}) for _ in range(60)]
    store.place_order(guest, lines)
    await commerce.sandbox.outbox.drain()
    assert [event["type"].rsplit(".", 1)[-1] for event in hook.events()] == [
        "sales_quote_save_commit_after"
    ]
    status = await commerce.admin("status")
    assert status["not_created"] == 1 and status["journal"] == 1
    await commerce.admin("faults", {"drop_over_64kb": False})
    store.comment(store.orders[max(store.orders)], "big but allowed now")
    await commerce.sandbox.outbox.drain()
    assert len(orjson.dumps(hook.events()[-1])) > 64 * 1024


async def test_batch_delivery_posts_arrays_of_at_most_the_batch_size(
    commerce: Commerce, hook: Receiver
) -> None:
    await commerce.admin("faults", {"batch_size": 4})
    orders(commerce.store, 5)
    await commerce.sandbox.outbox.drain()
    sizes = [len(receipt.body) for receipt in hook.receipts]
    assert all(isinstance(receipt.body, list) for receipt in hook.receipts)
    assert sizes == [4, 4, 2] and len(hook.events()) == 10


async def test_fault_settings_are_validated_and_reset(commerce: Commerce) -> None:
    bad = await commerce.anonymous.post("/_sandbox/faults", json={"duplicate_rate": 2})
    unknown = await commerce.anonymous.post("/_sandbox/faults", json={"chaos": True})
    assert bad.status_code == unknown.status_code == 400
    assert (await commerce.admin("faults", {"batch_size": 20}))["batch_size"] == 20
    await commerce.admin("reset", {})
    faults = await commerce.admin("faults")
    assert faults["batch_size"] == 1 and faults["drop_over_64kb"] is True


async def test_served_sandbox_sends_its_traffic_in_the_background(hook: Receiver) -> None:
    """The `make run` path: traffic and delivery as background tasks (scaled to milliseconds)."""
    config = CommerceSandboxConfig(
        client_id=CLIENT_ID, webhook_url=hook.url, orders=3, orders_per_minute=600,
        ship_after_seconds=5, time_scale=0.001,
    )  # fmt: skip
    runner = await serve(config, port=0, signer=SIGNER)
    try:
        deadline = time.monotonic() + 10
        while not any(e["type"].endswith("shipment_save_commit_after") for e in hook.events()):
            assert time.monotonic() < deadline, "no shipment delivered in time"
            await asyncio.sleep(0.02)  # polling a running server, with a deadline
    finally:
        await runner.cleanup()
    assert {event["recipientclientid"] for event in hook.events()} == {CLIENT_ID}


async def test_a_storefront_beacon_carries_what_a_browser_adds_its_store_origin_and_agent(
    hook: Receiver,
) -> None:
    deliverer = Deliverer(hook.url, SIGNER)
    event = {"event": "product-page-view", "eventInfo": {}}
    try:
        assert await deliverer.beacon(hook.url, event) == 200
    finally:
        await deliverer.aclose()
    (receipt,) = hook.receipts
    assert receipt.headers["Origin"] == STORE_URL
    assert "Mozilla/5.0" in receipt.headers["User-Agent"]
    assert receipt.body == event
