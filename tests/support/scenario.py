"""A deterministic stretch of store traffic for the restart and scale tests, what it must leave
in Dotdigital, and Dotdigital's state for it as the account's API shows it.

Orders are placed, invoiced and (not all) shipped; accounts subscribe and some unsubscribe;
newsletter-only guests come and go. Consent and fulfilment are kept to different shoppers, so
the outcome does not depend on which partition's events the worker happens to process first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.commerce.model.customers import UNSUBSCRIBED
from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.store import Store
from tests.support.accounts import CLIENT_ID
from tests.support.stack import FIRST_ORDER_PROGRAM, ORDER_FULFILLED_PROGRAM, Stack

SKUS = ("24-MB01", "24-UG06", "24-WG02", "24-MB04")


@dataclass
class Scenario:
    """The events, in the order Adobe sends them, and what Dotdigital must show afterwards."""

    events: list[dict[str, Any]]
    orders: dict[str, dict[str, bool]] = field(default_factory=dict)  # email → number → fulfilled
    statuses: dict[str, str] = field(default_factory=dict)  # email → consent status
    enrolments: dict[str, dict[int, int]] = field(default_factory=dict)  # email → program → n

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


def enrolment_counts(stack: Stack) -> dict[int, dict[int, int]]:
    """Dotdigital's enrolments: contact id → program → how many times."""
    counts: dict[int, Counter[int]] = {}
    for enrolment in stack.dotdigital.admin("enrolments")["enrolments"]:
        for contact in enrolment["contacts"]:
            counts.setdefault(contact, Counter())[enrolment["programId"]] += 1
    return {contact: dict(programs) for contact, programs in counts.items()}


def outcome(stack: Stack, expected: Scenario) -> dict[str, Any]:
    """What Dotdigital holds for the scenario's people: each contact's consent status and data
    fields, their Orders records, their enrolments per program (ids, which differ between
    accounts, left out), and the account's totals. Read through the sandbox's admin surface,
    so polling it spends none of the account's call budget the worker is spending."""
    contacts = {
        c["identifiers"]["email"]: c for c in stack.dotdigital.admin("contacts")["contacts"]
    }
    enrolled = enrolment_counts(stack)
    people: dict[str, Any] = {}
    for email in expected.emails:
        contact = contacts.get(email)
        people[email] = contact and {
            "status": contact["status"],
            "dataFields": contact["dataFields"],
            "orders": {r["key"]: r["json"] for r in contact["insight"].get("Orders", [])},
            "enrolments": enrolled.get(contact["contactId"], {}),
        }
    stats = stack.dotdigital.admin("stats")
    totals = {
        "contacts": stats["contacts"],
        "collections": stats["collections"],
        "enrolments": sum(sum(p.values()) for p in enrolled.values()),
    }
    return {"people": people, "totals": totals}


def settled_outcome(stack: Stack, expected: Scenario) -> dict[str, Any] | None:
    """`outcome`, once it is `settled`."""
    found = outcome(stack, expected)
    return found if settled(found, expected) else None


def settled(found: dict[str, Any], expected: Scenario) -> bool:
    """Dotdigital shows every order with its fulfilment, every enrolment and consent status."""
    for email in expected.emails:
        person = found["people"][email]
        if person is None:
            return False
        orders = {k: v.get("fulfilled") for k, v in person["orders"].items()}
        if orders != expected.orders.get(email, {}):
            return False
        if person["enrolments"] != expected.enrolments.get(email, {}):
            return False
        if email in expected.statuses and person["status"] != expected.statuses[email]:
            return False
    return True
