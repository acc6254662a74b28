"""Abandoned carts on the real broker, a real worker and both sandboxes, in event time: an
abandoned cart gets its CartInsight record and one enrolment, no earlier than `updated_at +
ABANDON_AFTER` and at most 60 s later; an order cancels or completes it; an emptied cart is
nothing; a guest's cart counts from the payment step under its email; duplicate and reordered
saves end as a clean run does; and 500 carts waiting when the worker is SIGKILLed each enrol
exactly once, none early, after its restart."""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.commerce.model.carts import Quote
from sandbox.commerce.model.customers import Customer
from sandbox.commerce.simulator.clock import SimulatedClock
from sandbox.commerce.simulator.store import Store
from tests.support.accounts import CLIENT_ID
from tests.support.stack import (
    Stack,
    accepted,
    eventually,
    read_topic,
    running_stack,
    start_worker,
)

pytestmark = pytest.mark.integration

PROGRAM = 7301
ABANDON_AFTER = 25  # seconds of event time
LATE_AT_MOST = timedelta(seconds=60)
EXCEPTIONS = "cartwright.exceptions.v1"
BUDGETS = {"low": 3000, "medium": 60000, "high": 60000}
KILLED_CARTS = 500


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("carts-logs")


@pytest.fixture(scope="module")
def stack(logs: Path) -> Iterator[Stack]:
    with running_stack(
        logs,
        CARTWRIGHT_CARTS__ABANDON_AFTER=str(ABANDON_AFTER),
        CARTWRIGHT_CARTS__TICK_INTERVAL="1",
        CARTWRIGHT_CARTS__STORE_URL="https://shop.example.com/",
        CARTWRIGHT_PROGRAMS__ABANDONED_CART=str(PROGRAM),
        CARTWRIGHT_DOTDIGITAL__LOW_PER_MINUTE=str(BUDGETS["low"]),
        CARTWRIGHT_DOTDIGITAL__MEDIUM_PER_MINUTE=str(BUDGETS["medium"]),
        CARTWRIGHT_DOTDIGITAL__HIGH_PER_MINUTE=str(BUDGETS["high"]),
    ) as stack:
        stack.dotdigital.admin("programs", {"programs": {str(PROGRAM): True}})
        stack.dotdigital.admin("limits", {"tier_budgets": BUDGETS})
        yield stack


def unique(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@example.com"


def due(quote: Quote) -> datetime:
    """When the cart is abandoned: its `updated_at` as Commerce writes it (whole seconds)."""
    return quote.updated_at.replace(microsecond=0) + timedelta(seconds=ABANDON_AFTER)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def enrolments(stack: Stack, email: str) -> list[datetime]:
    """When the contact of `email` was enrolled into the abandoned-cart program."""
    contact = stack.dotdigital.contact(email)
    if contact is None:
        return []
    return [
        parse(row["dateCreated"])
        for row in stack.dotdigital.admin("enrolments")["enrolments"]
        if row["programId"] == PROGRAM and contact["contactId"] in row["contacts"]
    ]


def cart_record(stack: Stack, email: str, quote: Quote) -> dict[str, Any] | None:
    found = stack.dotdigital.record(email, "CartInsight", str(quote.entity_id))
    return None if found is None else found.get("json", found)


@dataclass
class Cart:
    email: str
    quote: Quote
    due: datetime


@dataclass
class Scenarios:
    """Carts made at once, at real time, so their timers run together."""

    abandoned: Cart
    ordered_before: Cart
    ordered_after: Cart
    emptied: Cart
    guest: Cart
    reordered: Cart
    unsubscribed: Cart
    last_due: datetime


def _customer(store: Store, email: str) -> Customer:
    customer = store.find_customer(email)
    assert customer is not None
    return customer


def _registered_cart(
    store: Store, email: str, skus: list[str], *, subscribe: bool = False
) -> Quote:
    customer = store.register(email, "Cara", "Cart", subscribe=subscribe)
    quote = store.open_cart(customer)
    for sku in skus:
        store.add_to_cart(quote, store.catalogue.line(sku), customer)
    return quote


def _deliver_reordered(stack: Stack, email: str) -> Quote:
    """A cart of two saves five seconds apart, delivered newest first, then the older save, the
    newest again under its own event id (Adobe's redelivery) and again as a new save event."""
    now = datetime.now(UTC)
    shop = Store(
        seed=random.randrange(10**6), clock=SimulatedClock(now - timedelta(seconds=6)),
        client_id=CLIENT_ID,
    )  # fmt: skip
    start = len(shop.events)
    customer = shop.register(email, "Rey", "Order")
    quote = shop.open_cart(customer)
    (first,) = shop.add_to_cart(quote, shop.catalogue.line("24-MB01"), customer)
    shop.clock.advance(5)
    (second,) = shop.add_to_cart(quote, shop.catalogue.line("24-WG084"), customer)
    opened = list(shop.events)[start:-2]
    copy = {**second, "eventid": str(uuid.uuid4()), "id": str(uuid.uuid4())}
    for event in [*opened, second, first, second, copy, first]:
        accepted(stack.deliver(event))
    return quote


@pytest.fixture(scope="module")
def scenarios(stack: Stack) -> Scenarios:
    commerce = stack.commerce
    made: dict[str, Cart] = {}

    def registered(name: str, skus: list[str], *, subscribe: bool = False) -> None:
        email = unique(name)
        quote = commerce.act(
            lambda store: _registered_cart(store, email, skus, subscribe=subscribe)
        )
        made[name] = Cart(email, quote, due(quote))

    registered("abandoned", ["24-MB01", "24-WG084"])
    registered("before", ["24-MB01"])
    registered("after", ["24-MB01"])
    registered("emptied", ["24-MB01"])
    registered("unsubscribed", ["24-MB01"], subscribe=True)
    before, emptied, unsubscribed = made["before"], made["emptied"], made["unsubscribed"]
    commerce.act(
        lambda store: store.place_order(_customer(store, before.email), quote=before.quote)
    )
    commerce.act(lambda store: store.remove_from_cart(emptied.quote, "24-MB01"))
    commerce.act(lambda store: store.set_subscription(_customer(store, unsubscribed.email), False))

    guest_email = unique("guest")

    def guest_cart(store: Store) -> Quote:
        guest = store.guest(guest_email, "Gus", "Guest")
        quote = store.open_cart(guest)
        store.add_to_cart(quote, store.catalogue.line("24-MB01"), guest)
        return quote

    guest_quote = commerce.act(guest_cart)
    # The payment step some seconds later gives the cart its email, and its timer counts from it.
    eventually(
        lambda: datetime.now(UTC) - guest_quote.updated_at > timedelta(seconds=3) or None,
        what="three seconds of the guest's browsing",
    )
    commerce.act(lambda store: store.reach_payment(guest_quote, store.guest(guest_email, "G", "G")))
    made["guest"] = Cart(guest_email, guest_quote, due(guest_quote))

    reordered_email = unique("reordered")
    reordered = _deliver_reordered(stack, reordered_email)
    made["reordered"] = Cart(reordered_email, reordered, due(reordered))
    return Scenarios(
        abandoned=made["abandoned"],
        ordered_before=before,
        ordered_after=made["after"],
        emptied=emptied,
        guest=made["guest"],
        reordered=made["reordered"],
        unsubscribed=unsubscribed,
        last_due=max(cart.due for cart in made.values()),
    )


def fired_once_in_time(stack: Stack, cart: Cart) -> datetime:
    """The cart's one enrolment, checked against its due time; returns when it came."""
    (enrolled,) = eventually(
        lambda: enrolments(stack, cart.email) or None,
        timeout=ABANDON_AFTER + 90,
        what=f"the enrolment of {cart.email}",
    )
    assert enrolled >= cart.due, f"fired {(cart.due - enrolled).total_seconds():.1f} s early"
    assert enrolled - cart.due <= LATE_AT_MOST
    return enrolled


def all_quiet(stack: Stack, scenarios: Scenarios) -> None:
    """Every cart is past its due time by more than the lateness bound's first ticks: what was
    going to fire has (a marker cart made last fired, and the clock is past every due time)."""
    fired_once_in_time(stack, scenarios.guest)
    eventually(
        lambda: datetime.now(UTC) > scenarios.last_due + timedelta(seconds=5) or None,
        timeout=ABANDON_AFTER + 60,
        what="every cart past its due time",
    )


def test_an_abandoned_cart_gets_its_record_and_one_enrolment_in_time(
    stack: Stack, scenarios: Scenarios
) -> None:
    cart = scenarios.abandoned
    enrolled = fired_once_in_time(stack, cart)
    record = eventually(lambda: cart_record(stack, cart.email, cart.quote), what="CartInsight")

    assert record["cartPhase"] == "ORDER_PENDING"
    assert record["cartId"] == str(cart.quote.entity_id)
    assert record["cartUrl"] == "https://shop.example.com/checkout/cart/"
    assert [item["sku"] for item in record["lineItems"]] == ["24-MB01", "24-WG084"]
    assert record["grandTotal"] == float(cart.quote.grand_total)
    all_quiet(stack, scenarios)
    assert enrolments(stack, cart.email) == [enrolled]  # once, however many ticks passed
    print(f"abandoned cart fired {(enrolled - cart.due).total_seconds():.2f} s after due")


def test_a_cart_ordered_before_the_delay_enrols_nobody(stack: Stack, scenarios: Scenarios) -> None:
    all_quiet(stack, scenarios)
    cart = scenarios.ordered_before

    assert enrolments(stack, cart.email) == []
    assert cart_record(stack, cart.email, cart.quote) is None


def test_a_cart_ordered_after_it_fired_moves_to_order_complete(
    stack: Stack, scenarios: Scenarios
) -> None:
    cart = scenarios.ordered_after
    fired_once_in_time(stack, cart)
    eventually(lambda: cart_record(stack, cart.email, cart.quote), what="the pending record")

    stack.commerce.act(
        lambda store: store.place_order(_customer(store, cart.email), quote=cart.quote)
    )

    eventually(
        lambda: (
            (cart_record(stack, cart.email, cart.quote) or {}).get("cartPhase") == "ORDER_COMPLETE"
            or None
        ),
        what="ORDER_COMPLETE",
    )
    assert len(enrolments(stack, cart.email)) == 1


def test_an_emptied_cart_is_nothing(stack: Stack, scenarios: Scenarios) -> None:
    all_quiet(stack, scenarios)
    cart = scenarios.emptied

    assert enrolments(stack, cart.email) == []
    assert cart_record(stack, cart.email, cart.quote) is None


def test_a_guest_cart_counts_from_the_payment_step_under_its_email(
    stack: Stack, scenarios: Scenarios
) -> None:
    cart = scenarios.guest
    fired_once_in_time(stack, cart)
    record = eventually(lambda: cart_record(stack, cart.email, cart.quote), what="CartInsight")

    assert record["cartPhase"] == "ORDER_PENDING"
    assert [item["sku"] for item in record["lineItems"]] == ["24-MB01"]


def test_duplicate_and_reordered_saves_end_as_a_clean_run(
    stack: Stack, scenarios: Scenarios
) -> None:
    cart = scenarios.reordered
    # Due from the newest save: the older one, arriving last, neither fires it early nor late.
    fired_once_in_time(stack, cart)
    record = eventually(lambda: cart_record(stack, cart.email, cart.quote), what="CartInsight")
    all_quiet(stack, scenarios)

    assert [item["sku"] for item in record["lineItems"]] == ["24-MB01", "24-WG084"]
    assert record["modifiedDate"] == cart.quote.updated_at.replace(microsecond=0).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert len(enrolments(stack, cart.email)) == 1


def test_an_unsubscribed_contact_is_refused_by_the_consent_gate(
    stack: Stack, scenarios: Scenarios
) -> None:
    cart = scenarios.unsubscribed
    subject = f"cart {cart.quote.entity_id} abandoned"

    def refused(records: list[dict[str, Any]]) -> bool:
        return any(subject in r["value"]["subject"] for r in records)

    records = read_topic(stack.bootstrap, EXCEPTIONS, refused, timeout=ABANDON_AFTER + 90)
    (refusal,) = [r["value"] for r in records if subject in r["value"]["subject"]]

    assert refusal["reason"] == "consent_gate"
    assert enrolments(stack, cart.email) == []


# --- a kill -9 while 500 carts wait -----------------------------------------------------------


def _many_carts(count: int) -> tuple[list[dict[str, Any]], list[tuple[str, datetime]]]:
    """`count` registered shoppers' carts saved now: their events, and (email, due) each."""
    shop = Store(
        seed=random.randrange(10**6), clock=SimulatedClock(datetime.now(UTC)), client_id=CLIENT_ID
    )
    carts = []
    for n in range(count):
        email = unique(f"many{n}")
        quote = _registered_cart(shop, email, ["24-MB01"])
        carts.append((email, due(quote)))
    return list(shop.events), carts


def _status(stack: Stack) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = httpx.get(f"{stack.worker_url}/ops/status", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None
    return found


def _contact_ids(stack: Stack, emails: list[str]) -> dict[int, str]:
    ids = {}
    for email in emails:
        contact = stack.dotdigital.contact(email)
        if contact is not None:
            ids[contact["contactId"]] = email
    return ids


def test_carts_waiting_when_the_worker_is_killed_each_enrol_once_none_early(
    stack: Stack, scenarios: Scenarios, logs: Path
) -> None:
    all_quiet(stack, scenarios)  # the other tests' carts have fired; these are the only timers
    started = time.monotonic()
    before = (_status(stack) or {}).get("counts", {}).get("carts.snapshots", 0)
    events, carts = _many_carts(KILLED_CARTS)
    for n in range(0, len(events), 500):
        accepted(stack.deliver(events[n : n + 500]))
    first_due = min(d for _, d in carts)

    def taken() -> bool | None:
        snapshots = (_status(stack) or {}).get("counts", {}).get("carts.snapshots", 0)
        return snapshots - before >= 2 * KILLED_CARTS or None  # opened and filled, each

    eventually(taken, timeout=60, what="the carts in the carts table")
    assert datetime.now(UTC) < first_due, "too slow: carts came due before the kill"
    (worker,) = [p for p in stack.processes if p.name == "worker"]
    os.kill(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait(timeout=30)
    killed_at = datetime.now(UTC)

    start_worker(stack, logs, "worker-restarted")
    restarted_at = datetime.now(UTC)
    emails = [email for email, _ in carts]

    def all_enrolled() -> list[dict[str, Any]] | None:
        rows = [
            row
            for row in stack.dotdigital.admin("enrolments")["enrolments"]
            if row["programId"] == PROGRAM
        ]
        return rows if len(rows) >= KILLED_CARTS + 4 else None  # + the scenarios' four

    eventually(all_enrolled, timeout=180, what=f"{KILLED_CARTS} enrolments after the restart")
    ids = _contact_ids(stack, emails)
    assert len(ids) == KILLED_CARTS
    mine = [
        (ids[contact], parse(row["dateCreated"]))
        for row in stack.dotdigital.admin("enrolments")["enrolments"]
        if row["programId"] == PROGRAM
        for contact in row["contacts"]
        if contact in ids
    ]
    per_email = Counter(email for email, _ in mine)
    due_of = dict(carts)
    lateness = sorted((at - due_of[email]).total_seconds() for email, at in mine)

    assert set(per_email) == set(emails)
    assert set(per_email.values()) == {1}, "a cart enrolled twice"
    assert lateness[0] >= 0, f"a cart fired {-lateness[0]:.1f} s early"
    assert lateness[-1] <= LATE_AT_MOST.total_seconds()
    print(
        f"{KILLED_CARTS} carts: killed {(first_due - killed_at).total_seconds():.1f} s before the"
        f" first was due, restarted in {(restarted_at - killed_at).total_seconds():.1f} s;"
        f" lateness min {lateness[0]:.2f} s, p99 {lateness[int(0.99 * len(lateness))]:.2f} s,"
        f" max {lateness[-1]:.2f} s; test {time.monotonic() - started:.0f} s"
    )
