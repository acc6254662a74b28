"""End-to-end triggers for `make bench-triggers`, through the worker's own front doors: carts
delivered signed to the webhook and fired by the worker's ticks, third product-page views sent
to its storefront collector; how long each took to Dotdigital's acceptance, and where the time
went (the ticks' clocks and the enrolment commands' record times on the realtime topic).

Clocks (one host): the benchmark's `time.time()` for a POST; a cart's due time is its
`updated_at` as Commerce writes it (whole seconds) + ABANDON_AFTER, read back from
`commerce.carts.v1`; the worker's wall clock in each tick record on `cartwright.ticks.v1` (the
tick that fires a cart is the first on its partition whose clock is at or past the due time,
exactly the worker's own test); the worker's producer clock in the broker's record timestamp of
the enrolment command; the sandbox's clock in the enrolment's `dateCreated`.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.harness import figures
from bench.store import Shop
from sandbox.commerce.model.customers import Customer
from schemas.contract.topics import CARTS, TICKS, WRITES_REALTIME

CART_PROGRAM = 8  # the worker's CARTWRIGHT_PROGRAMS__ABANDONED_CART in the benchmark
BROWSE_PROGRAM = 9  # CARTWRIGHT_PROGRAMS__BROWSE_ABANDONED
VIEWS = 3
DELIVERY_EVENTS = 100  # events per signed delivery while preparing


@dataclass
class Flow:
    """What the benchmark reads back from the broker: ticks, carts' partitions and due times,
    and when each enrolment command was produced onto the realtime topic."""

    ticks: dict[int, list[float]] = field(default_factory=dict)  # partition -> clocks, in order
    cart_partition: dict[str, int] = field(default_factory=dict)  # email -> carts partition
    cart_updated: dict[str, datetime] = field(default_factory=dict)  # email -> newest updated_at
    commanded: dict[str, float] = field(default_factory=dict)  # email -> enrolment record time

    def read(self, topic: str, partition: int, key: bytes | None, value: bytes, ts: int) -> None:
        document = orjson.loads(value)
        if topic == TICKS:
            clock = datetime.fromisoformat(document["clock"]).timestamp()
            self.ticks.setdefault(partition, []).append(clock)
        elif topic == CARTS and document.get("email"):
            email = document["email"]
            updated = datetime.fromisoformat(document["updated_at"])
            self.cart_partition[email] = partition
            if email not in self.cart_updated or updated > self.cart_updated[email]:
                self.cart_updated[email] = updated
        elif topic == WRITES_REALTIME and document["command"]["kind"] == "enrolment":
            self.commanded.setdefault(document["command"]["email"], ts / 1000)

    def firing_tick(self, email: str, due: float) -> float | None:
        """The clock of the first tick of the cart's partition at or past its due time."""
        clocks = self.ticks.get(self.cart_partition.get(email, -1), [])
        index = bisect.bisect_left(clocks, due)
        return clocks[index] if index < len(clocks) else None


async def read_flow(bootstrap: str, flow: Flow, ready: asyncio.Event, stop: asyncio.Event) -> None:
    """Follow ticks, carts and the realtime topic from their beginning until `stop`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        assignment = [
            TopicPartition(topic, partition)
            for topic in (TICKS, CARTS, WRITES_REALTIME)
            for partition in sorted(consumer.partitions_for_topic(topic) or set())
        ]
        consumer.assign(assignment)
        await consumer.seek_to_beginning(*assignment)
        ready.set()
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for r in records:
                    flow.read(r.topic, r.partition, r.key, r.value, r.timestamp)
    finally:
        await consumer.stop()


@dataclass
class Triggers:
    """The end-to-end triggers sent, with the moment each one's latency counts from."""

    shop: Shop
    abandon_after: float
    carts: dict[str, float] = field(default_factory=dict)  # email -> delivered (epoch)
    views: dict[str, float] = field(default_factory=dict)  # email -> third view POSTed
    browsers: list[tuple[str, Customer]] = field(default_factory=list)  # two views seen
    failures: list[str] = field(default_factory=list)

    async def prepare_browsers(self, http: httpx.AsyncClient, count: int) -> None:
        """`count` registered customers, delivered to the webhook: their emails are what the
        logged-in shoppers' browsers claim, which Commerce (the contacts table) confirms."""
        events: list[dict[str, Any]] = []
        for number in range(count):
            customer, saved = self.shop.register(f"browse-{number}@bench.example.com")
            self.browsers.append((customer.email, customer))
            events += saved
        for start in range(0, len(events), DELIVERY_EVENTS):
            await self.shop.deliver(http, events[start : start + DELIVERY_EVENTS])

    async def first_views(self, http: httpx.AsyncClient) -> None:
        """Each browser's first VIEWS - 1 views of the SKU, one beacon each."""
        for _, customer in self.browsers:
            await self.shop.beacon(http, self.shop.views(customer, VIEWS - 1))

    async def send_views(self, http: httpx.AsyncClient, rate: float, stop: asyncio.Event) -> None:
        """A third view every 1/rate s, each from the next prepared browser, until `stop`."""
        await _steady(rate, stop, lambda n: self._third_view(http, n), len(self.browsers))

    async def _third_view(self, http: httpx.AsyncClient, number: int) -> None:
        email, customer = self.browsers[number]
        view = self.shop.views(customer, 1)
        posted = time.time()
        try:
            await self.shop.beacon(http, view)
        except (httpx.HTTPError, RuntimeError) as exc:
            self.failures.append(f"view {email}: {exc}")
            return
        self.views[email] = posted

    async def send_carts(self, http: httpx.AsyncClient, rate: float, stop: asyncio.Event) -> None:
        """A new cart every 1/rate s (a registered customer, one line), delivered signed."""
        await _steady(rate, stop, lambda n: self._cart(http, n), None)

    async def _cart(self, http: httpx.AsyncClient, number: int) -> None:
        email = f"abandoner-{number}@bench.example.com"
        _, events = self.shop.cart(email)
        try:
            await self.shop.deliver(http, events)
        except (httpx.HTTPError, RuntimeError) as exc:
            self.failures.append(f"cart {email}: {exc}")
            return
        self.carts[email] = time.time()

    def due(self, flow: Flow) -> dict[str, float]:
        """Email -> the cart's due time, from `updated_at` as the worker read it."""
        after = timedelta(seconds=self.abandon_after)
        return {
            email: (flow.cart_updated[email] + after).timestamp()
            for email in self.carts
            if email in flow.cart_updated
        }


async def _steady(
    rate: float,
    stop: asyncio.Event,
    send: Callable[[int], Any],
    limit: int | None,
) -> None:
    gap = 1.0 / rate
    next_at = time.monotonic()
    number = 0
    while not stop.is_set() and (limit is None or number < limit):
        await send(number)
        number += 1
        next_at += gap
        with contextlib.suppress(TimeoutError):  # the steady rate: the next one is due
            await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))


def _between(ends: dict[str, float], starts: dict[str, float | None]) -> list[float]:
    return [ends[e] - at for e, at in starts.items() if at is not None and e in ends]


def e2e_report(
    e2e: Triggers,
    flow: Flow,
    accepted: dict[int, dict[str, float]],
    window: tuple[float, float],
    drained: float | None = None,
) -> dict[str, Any]:
    """The end-to-end figures of the carts due and third views posted inside `window`."""
    low, high = window
    carts_accepted = accepted.get(CART_PROGRAM, {})
    browse_accepted = accepted.get(BROWSE_PROGRAM, {})
    due = {e: at for e, at in e2e.due(flow).items() if low <= at <= high}
    ticks = {e: flow.firing_tick(e, at) for e, at in due.items()}
    commanded = {e: flow.commanded.get(e) for e in due}
    views = {e: at for e, at in e2e.views.items() if low <= at <= high}
    view_commands = {e: flow.commanded.get(e) for e in views}
    carts = {
        "carts_due": len(due),
        "enrolments_accepted": sum(1 for e in due if e in carts_accepted),
        "due_to_acceptance": figures(_between(carts_accepted, dict(due))),
        "firing_tick_to_acceptance": figures(_between(carts_accepted, ticks)),
        "parts": {
            "due_to_firing_tick": figures([t - due[e] for e, t in ticks.items() if t is not None]),
            "firing_tick_to_enrolment_command": figures(
                _between({e: c for e, c in commanded.items() if c is not None}, ticks)
            ),
            "enrolment_command_to_acceptance": figures(_between(carts_accepted, commanded)),
        },
    }
    browse = {
        "third_views_posted": len(views),
        "enrolments_accepted": sum(1 for e in views if e in browse_accepted),
        "third_view_to_acceptance": figures(_between(browse_accepted, dict(views))),
        "parts": {
            "third_view_to_enrolment_command": figures(
                _between({e: c for e, c in view_commands.items() if c is not None}, dict(views))
            ),
            "enrolment_command_to_acceptance": figures(_between(browse_accepted, view_commands)),
        },
    }
    if drained is not None:
        carts["due_while_draining"] = sum(1 for at in due.values() if at < drained)
        browse["posted_while_draining"] = sum(1 for at in views.values() if at < drained)
    return {"carts": carts, "browse": browse}


def e2e_series(e2e: Triggers, flow: Flow, accepted: dict[int, dict[str, float]]) -> list[Any]:
    """Each end-to-end trigger as [kind, start, tick clock, command time, accepted] (epoch s)."""
    rows: list[Any] = []
    for email, at in e2e.due(flow).items():
        tick = flow.firing_tick(email, at)
        done = accepted.get(CART_PROGRAM, {}).get(email)
        rows.append(["cart", at, tick, flow.commanded.get(email), done])
    for email, at in e2e.views.items():
        done = accepted.get(BROWSE_PROGRAM, {}).get(email)
        rows.append(["browse", at, None, flow.commanded.get(email), done])
    return sorted(rows, key=lambda row: float(row[1]))
