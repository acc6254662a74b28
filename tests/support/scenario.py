"""Deterministic stretches of store traffic for the restart, scale and incident tests, what they
must leave in Dotdigital, and Dotdigital's state for them as the account's API shows it.

Orders are placed, invoiced and (not all) shipped, some cancelled, some refunded in part or in
full (`day_scenario`: a store day of it); accounts subscribe and some unsubscribe;
newsletter-only guests come and go. Consent and fulfilment are kept to different shoppers, and
nobody has two fulfilled orders, so the outcome does not depend on which partition's events the
worker happens to process first nor on how its writes were batched.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.commerce.model.customers import UNSUBSCRIBED
from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.store import Store
from schemas.contract.topics import (
    CARTS,
    COMMERCE_WRITES,
    CONSENT_OBSERVED,
    CUSTOMERS,
    IDENTITY,
    ORDERS,
    RAW,
    REFUNDS,
    WRITES,
    WRITES_REALTIME,
)
from schemas.dotdigital.orders import ORDERS_COLLECTION
from schemas.dotdigital.refunds import REFUNDS_COLLECTION
from tests.support.accounts import CLIENT_ID
from tests.support.groups import behind
from tests.support.stack import FIRST_ORDER_PROGRAM, ORDER_FULFILLED_PROGRAM, Stack

SKUS = ("24-MB01", "24-UG06", "24-WG02", "24-MB04")
MINUTE = 60.0
HOUR = 60 * MINUTE
# The worker's consumer group, and every topic it consumes on the way from Commerce to
# Dotdigital: once it has committed all of them, nothing more is on its way.
APP = "cartwright"
PIPELINE = (
    RAW,
    ORDERS,
    CUSTOMERS,
    REFUNDS,
    IDENTITY,
    CONSENT_OBSERVED,
    CARTS,
    COMMERCE_WRITES,
    WRITES,
    WRITES_REALTIME,
)


@dataclass
class Scenario:
    """The events, in the order Adobe sends them, and what Dotdigital must show afterwards."""

    events: list[dict[str, Any]]
    orders: dict[str, dict[str, bool]] = field(default_factory=dict)  # email → number → fulfilled
    statuses: dict[str, str] = field(default_factory=dict)  # email → consent status
    enrolments: dict[str, dict[int, int]] = field(default_factory=dict)  # email → program → n
    refunds: dict[str, set[str]] = field(default_factory=dict)  # email → credit memo numbers
    states: dict[str, str] = field(default_factory=dict)  # order number → its last state
    started: datetime | None = None  # the store's clock at the first event

    @property
    def emails(self) -> list[str]:
        return sorted({*self.orders, *self.statuses})

    def chunks(self, count: int) -> list[list[dict[str, Any]]]:
        """The events in `count` consecutive slices of near-equal length."""
        size, extra = divmod(len(self.events), count)
        slices, start = [], 0
        for n in range(count):
            end = start + size + (1 if n < extra else 0)
            slices.append(self.events[start:end])
            start = end
        return slices

    def at(self, hours: float) -> datetime:
        """The store time `hours` after the scenario started."""
        if self.started is None:
            raise ValueError("this scenario keeps no start time")
        return self.started + timedelta(hours=hours)

    def between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The events whose own `time` is at or after `start` and before `end`, in order."""
        return [event for event in self.events if start <= event_time(event) < end]

    def hours(self, first: float, last: float) -> list[dict[str, Any]]:
        """The events of store hours `first` (inclusive) to `last` (exclusive) of the scenario."""
        return self.between(self.at(first), self.at(last))


def event_time(event: dict[str, Any]) -> datetime:
    """An event's own time: its CloudEvents envelope's `time`."""
    return datetime.fromisoformat(str(event["time"]))


def scenario(shoppers: int = 24, newsletter_guests: int = 4, seed: int = 1212) -> Scenario:
    """`shoppers` in four kinds (subscribed accounts with an order mid-fulfilment, half of them
    unsubscribing later; guests with a shipped order; accounts with one shipped order and one
    invoiced; guests with one shipped order and one cancelled) and guests who only subscribe,
    half of them unsubscribing again. Same arguments, byte-identical events.

    Nobody has two fulfilled orders: the sink enrols a contact once for all the orders of one
    batch, so two would make the number of enrolments depend on timing, not on correctness."""
    store = Store(seed=seed, client_id=CLIENT_ID)
    line = store.catalogue.line
    expected = Scenario(events=[])
    placed: list[tuple[str, Order, bool]] = []  # (email, order, to be shipped)
    cancelled: list[Order] = []
    accounts = {}
    for n in range(shoppers):
        email = f"proof.{n:02d}@example.com"
        kind = n % 4
        if kind in (0, 2):
            shopper: Any = store.register(email, "Ada", f"Proof{n}", subscribe=kind == 0)
            accounts[email] = shopper
        else:
            shopper = store.guest(email, "Grace", f"Proof{n}")
        for o in range(1 if kind in (0, 1) else 2):
            order = store.place_order(shopper, [line(SKUS[(n + o) % len(SKUS)], 1 + o)])
            shipped = o == 0 and kind != 0
            if kind == 3 and o == 1:
                cancelled.append(order)
            else:
                placed.append((email, order, shipped))
            expected.orders.setdefault(email, {})[order.increment_id] = shipped
            store.clock.advance(30)
        if kind == 0:
            expected.statuses[email] = "unsubscribed" if n % 8 == 0 else "subscribed"
    for n in range(newsletter_guests):
        email = f"proof.news.{n:02d}@example.com"
        store.subscribe(email)
        expected.statuses[email] = "unsubscribed" if n % 2 == 0 else "subscribed"
        store.clock.advance(30)
    for _, order, _ in placed:
        store.invoice(order)
        store.clock.advance(30)
    for email, status in expected.statuses.items():
        if status == "unsubscribed":
            if email in accounts:
                store.set_subscription(accounts[email], False)
            else:
                store.subscribe(email, UNSUBSCRIBED)
            store.clock.advance(30)
    for order in cancelled:
        store.cancel(order)
        store.clock.advance(30)
    for _, order, shipped in placed:
        if shipped:
            store.ship(order)
            store.clock.advance(30)
    for email, orders in expected.orders.items():
        fulfilled = sum(orders.values())
        if fulfilled:
            expected.enrolments[email] = {
                ORDER_FULFILLED_PROGRAM: fulfilled,
                FIRST_ORDER_PROGRAM: 1,
            }
    expected.events = list(store.events)
    return expected


# A story is one shopper's day: each step changes the store at the store clock's moment and
# yields how many seconds later its next step comes.
Story = Iterator[float]
# Arrivals spread over the first 19 hours of the day; every story ends within five and a half.
ARRIVALS = 19 * HOUR


def day_scenario(shoppers: int = 48, newsletter_guests: int = 8, seed: int = 2424) -> Scenario:
    """A store day (about 24 simulated hours from the store clock's start, 2026-11-26 09:00 UTC):
    `shoppers` arrive evenly over the first 19 hours, in eight kinds (`_shopper`) that place,
    invoice, ship, cancel and refund (credit memos, partial and full, before and after shipping)
    over the hours that follow, while newsletter-only guests subscribe and half of them leave
    again. Every store hour has some of it. Same arguments, byte-identical events.

    The events are weeks old by wall time; the stack's webhook accepts them because its
    `max_event_age` is years (tests/support/stack.py), and none is ahead of the wall clock, so
    `max_event_lead` never applies."""
    store = Store(seed=seed, client_id=CLIENT_ID)
    expected = Scenario(events=[], started=store.clock.now())
    stories: list[tuple[float, Story]] = [
        (n * ARRIVALS / shoppers, _shopper(store, expected, n)) for n in range(shoppers)
    ]
    stories += [
        ((n + 0.5) * ARRIVALS / newsletter_guests, _newsletter_guest(store, expected, n))
        for n in range(newsletter_guests)
    ]
    _play(store, stories)
    for email, orders in expected.orders.items():
        if any(orders.values()):
            expected.enrolments[email] = {ORDER_FULFILLED_PROGRAM: 1, FIRST_ORDER_PROGRAM: 1}
    expected.states = {order.increment_id: order.state for order in store.orders.values()}
    expected.events = list(store.events)
    return expected


def _play(store: Store, stories: list[tuple[float, Story]]) -> None:
    """Run every story's steps in store-time order, the clock moved to each step's moment."""
    start = store.clock.now()
    queue = [(at, n, story) for n, (at, story) in enumerate(stories)]
    heapq.heapify(queue)
    while queue:
        at, n, story = heapq.heappop(queue)
        store.clock.advance_to(start + timedelta(seconds=at))
        wait = next(story, None)
        if wait is not None:
            heapq.heappush(queue, (at + wait, n, story))


def _shopper(store: Store, expected: Scenario, n: int) -> Story:
    """Shopper `n`, of kind n % 8: 0 an account subscribed at sign-up with an order invoiced
    and never shipped (every other one unsubscribes hours later); 1 a guest whose order ships;
    2 an account whose order of two ships, then one item is refunded; 3 a guest with an order
    shipped and another cancelled; 4 an account whose invoiced order is refunded in full before
    shipping; 5 a guest whose shipped order is refunded in full; 6 a guest refunded an amount
    (an adjustment, no items) on an order that never ships; 7 a guest whose order of two is
    refunded item by item, in two credit memos, and so closes unshipped.

    Only kinds 1, 2, 3 and 5 have a fulfilled order (one each); only kind 0 changes consent."""
    email = f"day.{n:02d}@example.com"
    kind = n % 8
    line = store.catalogue.line
    sku = SKUS[n % len(SKUS)]
    shopper: Any
    if kind in (0, 2, 4):
        shopper = store.register(email, "Ada", f"Day{n}", subscribe=kind == 0)
    else:
        shopper = store.guest(email, "Grace", f"Day{n}")
    orders = expected.orders.setdefault(email, {})
    order = store.place_order(shopper, [line(sku, 2 if kind in (2, 7) else 1)])
    orders[order.increment_id] = kind in (1, 2, 3, 5)
    yield 20 * MINUTE
    store.invoice(order)
    if kind == 0:
        leaves = n % 16 == 0
        expected.statuses[email] = "unsubscribed" if leaves else "subscribed"
        if leaves:
            yield 5 * HOUR
            store.set_subscription(shopper, False)
        return
    if kind == 3:
        yield 30 * MINUTE
        second = store.place_order(shopper, [line(SKUS[(n + 1) % len(SKUS)], 1)])
        orders[second.increment_id] = False
        yield 40 * MINUTE
        store.cancel(second)
    if kind == 4:
        yield 2 * HOUR
        _refund(store, expected, email, order)  # everything refundable: full, nothing shipped
        return
    if kind == 6:
        yield 2 * HOUR
        _refund(store, expected, email, order, amount=Decimal("5.00"))  # an adjustment alone
        return
    if kind == 7:
        yield 2 * HOUR
        _refund(store, expected, email, order, items={sku: 1})  # one of two...
        yield 90 * MINUTE
        _refund(store, expected, email, order, items={sku: 1})  # ...then the other
        return
    yield 3 * HOUR
    store.ship(order)
    if kind == 2:
        yield 2 * HOUR
        _refund(store, expected, email, order, items={sku: 1})  # one of the two shipped
    if kind == 5:
        yield 2 * HOUR
        _refund(store, expected, email, order)  # all of it, after it shipped


def _refund(store: Store, expected: Scenario, email: str, order: Order, **how: Any) -> None:
    """A credit memo on `order`, which Dotdigital must then hold as a Refunds record."""
    store.refund(order, **how)
    memo = max(store.creditmemos.values(), key=lambda m: m.entity_id)
    expected.refunds.setdefault(email, set()).add(memo.increment_id)


def _newsletter_guest(store: Store, expected: Scenario, n: int) -> Story:
    """A guest who only subscribes; every other one unsubscribes four hours later."""
    email = f"day.news.{n:02d}@example.com"
    store.subscribe(email)
    leaves = n % 2 == 0
    expected.statuses[email] = "unsubscribed" if leaves else "subscribed"
    if leaves:
        yield 4 * HOUR
        store.subscribe(email, UNSUBSCRIBED)


def enrolment_counts(stack: Stack) -> dict[int, dict[int, int]]:
    """Dotdigital's enrolments: contact id → program → how many times."""
    counts: dict[int, Counter[int]] = {}
    for enrolment in stack.dotdigital.admin("enrolments")["enrolments"]:
        for contact in enrolment["contacts"]:
            counts.setdefault(contact, Counter())[enrolment["programId"]] += 1
    return {contact: dict(programs) for contact, programs in counts.items()}


def outcome(stack: Stack, expected: Scenario) -> dict[str, Any]:
    """What Dotdigital holds: for every contact of the account and every person of the scenario,
    the consent status and data fields, their Orders and Refunds records (and any other
    collection's), their enrolments per program (ids, which differ between accounts, left
    out); and the account's totals. Read through the sandbox's admin surface, so polling it
    spends none of the account's call budget the worker is spending."""
    contacts = {
        c["identifiers"]["email"]: c for c in stack.dotdigital.admin("contacts")["contacts"]
    }
    enrolled = enrolment_counts(stack)
    people: dict[str, Any] = {}
    for email in sorted({*expected.emails, *contacts}):
        contact = contacts.get(email)
        people[email] = contact and {
            "status": contact["status"],
            "dataFields": contact["dataFields"],
            "orders": _records(contact, ORDERS_COLLECTION),
            "refunds": _records(contact, REFUNDS_COLLECTION),
            "insight": {
                name: _records(contact, name)
                for name in contact["insight"]
                if name not in (ORDERS_COLLECTION, REFUNDS_COLLECTION)
            },
            "enrolments": enrolled.get(contact["contactId"], {}),
        }
    stats = stack.dotdigital.admin("stats")
    totals = {
        "contacts": stats["contacts"],
        "collections": stats["collections"],
        "enrolments": sum(sum(p.values()) for p in enrolled.values()),
    }
    return {"people": people, "totals": totals}


def _records(contact: dict[str, Any], collection: str) -> dict[str, Any]:
    """The contact's records of `collection`: key → document."""
    return {r["key"]: r["json"] for r in contact["insight"].get(collection, [])}


def settled_outcome(stack: Stack, expected: Scenario) -> dict[str, Any] | None:
    """`outcome`, once it is `settled`."""
    found = outcome(stack, expected)
    return found if settled(found, expected) else None


def quiet_outcome(stack: Stack, expected: Scenario) -> dict[str, Any] | None:
    """`outcome`, once it is `settled` and the worker has committed every record of the
    pipeline's topics: nothing more is on its way to Dotdigital (a data field or a record's
    last refund that lags behind what `settled` looks at included)."""
    if settled_outcome(stack, expected) is None or behind(stack.bootstrap, APP, PIPELINE):
        return None
    return outcome(stack, expected)


def settled(found: dict[str, Any], expected: Scenario) -> bool:
    """Dotdigital shows every order with its fulfilment (and last state, where the scenario
    knows it), every credit memo, every enrolment and consent status."""
    return not unsettled(found, expected, first=1)


def unsettled(found: dict[str, Any], expected: Scenario, first: int = 20) -> list[str]:
    """What keeps `found` from being `settled`, contact by contact (the `first` few), for a
    test that timed out waiting to say what never arrived."""
    missing: list[str] = []
    for email in expected.emails:
        if len(missing) >= first:
            break
        person = found["people"][email]
        if person is None:
            missing.append(f"{email}: no contact")
            continue
        orders = {k: v.get("fulfilled") for k, v in person["orders"].items()}
        if orders != expected.orders.get(email, {}):
            missing.append(f"{email}: orders {orders} != {expected.orders.get(email, {})}")
        states = {k: expected.states[k] for k in orders if k in expected.states}
        wrong = {
            k: (person["orders"][k].get("orderState"), state)
            for k, state in states.items()
            if person["orders"][k].get("orderState") != state
        }
        if wrong:
            missing.append(f"{email}: order states (found, expected) {wrong}")
        if set(person["refunds"]) != expected.refunds.get(email, set()):
            wanted = expected.refunds.get(email, set())
            missing.append(f"{email}: refunds {sorted(person['refunds'])} != {sorted(wanted)}")
        if person["enrolments"] != expected.enrolments.get(email, {}):
            wanted_enrolments = expected.enrolments.get(email, {})
            missing.append(f"{email}: enrolments {person['enrolments']} != {wanted_enrolments}")
        if email in expected.statuses and person["status"] != expected.statuses[email]:
            missing.append(f"{email}: status {person['status']} != {expected.statuses[email]}")
    return missing
