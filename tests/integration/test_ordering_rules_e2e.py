"""The per-email join and fulfilment rules end to end: store events in, Dotdigital state out."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sandbox.commerce.simulator.store import Store
from tests.support.accounts import CLIENT_ID
from tests.support.stack import (
    FIRST_ORDER_PROGRAM,
    ORDER_FULFILLED_PROGRAM,
    Stack,
    accepted,
    enrolments_of,
    eventually,
)

pytestmark = pytest.mark.integration


def store() -> Store:
    return Store(seed=uuid.uuid4().int % 10_000, client_id=CLIENT_ID)


def unique(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@example.com"


def deliver(stack: Stack, events: list[dict[str, Any]]) -> None:
    for event in events:
        accepted(stack.deliver(event))


def record(stack: Stack, owner: str, collection: str, key: str, **match: Any) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = stack.dotdigital.record(owner, collection, key)
        if found and all(found["json"].get(k) == v for k, v in match.items()):
            return found["json"]  # type: ignore[no-any-return]
        return None

    return eventually(check, timeout=90, what=f"{collection} {key} with {match}")


def fields(stack: Stack, email: str, **match: Any) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        contact = stack.dotdigital.contact(email)
        if contact and all(contact["dataFields"].get(k) == v for k, v in match.items()):
            return contact["dataFields"]  # type: ignore[no-any-return]
        return None

    return eventually(check, timeout=90, what=f"contact {email} with {match}")


def test_guest_then_registered_orders_with_one_email_land_on_one_contact(stack: Stack) -> None:
    shop = store()
    email = unique("grace")
    guest = shop.guest(f"  {email.upper()} ", "Grace", "Hopper")
    first = shop.place_order(guest, [shop.catalogue.line("24-UG06", 2)])
    shop.clock.advance(3600)
    customer = shop.register(email, "Grace", "Hopper")
    second = shop.place_order(customer, [shop.catalogue.line("24-WG02", 1)])

    deliver(stack, list(shop.events))

    total = float(first.grand_total + second.grand_total)
    data = fields(stack, email, ORDER_COUNT=2, LIFETIME_VALUE=total)
    assert data["CUSTOMER_TYPE"] == "registered"
    record(stack, email, "Orders", first.increment_id)
    record(stack, email, "Orders", second.increment_id)
    assert len(stack.dotdigital.records(email, "Orders")) == 2


def test_an_email_change_moves_the_contact_without_a_second_one(stack: Stack) -> None:
    shop = store()
    old, new = unique("old"), unique("new")
    customer = shop.register(old, "Alan", "Turing")
    first = shop.place_order(customer, [shop.catalogue.line("24-UG06", 1)])
    deliver(stack, list(shop.events))
    record(stack, old, "Orders", first.increment_id)
    start = len(shop.events)

    shop.clock.advance(60)
    shop.change_email(customer, new)
    shop.clock.advance(60)
    second = shop.place_order(customer, [shop.catalogue.line("24-MB01", 1)])
    deliver(stack, list(shop.events)[start:])

    fields(stack, new, ORDER_COUNT=2)
    assert stack.dotdigital.contact(old) is None
    assert record(stack, new, "Orders", first.increment_id, email=new)
    assert record(stack, new, "Orders", second.increment_id)


def test_partial_then_full_refund_makes_two_refund_records_and_a_closed_order(
    stack: Stack,
) -> None:
    shop = store()
    email = unique("refund")
    guest = shop.guest(email, "Ada", "Lovelace")
    order = shop.place_order(guest, [shop.catalogue.line("24-MB01", 2)])
    shop.clock.advance(60)
    shop.invoice(order)
    shop.clock.advance(60)
    shop.ship(order)
    shop.clock.advance(60)
    shop.refund(order, {"24-MB01": 1})
    shop.clock.advance(60)
    shop.refund(order)

    deliver(stack, list(shop.events))

    final = record(stack, email, "Orders", order.increment_id, orderState="closed", netTotal=0.0)

    def two_refunds() -> list[dict[str, Any]] | None:
        found = stack.dotdigital.records(email, "Refunds")
        return found if len(found) == 2 else None

    refunds = eventually(two_refunds, timeout=90, what="two refund records")
    assert sum(r["json"]["amount"] for r in refunds) == final["orderTotal"]
    fields(stack, email, LIFETIME_VALUE=0.0)


def test_cancelled_order_is_kept_and_never_enrolled(stack: Stack) -> None:
    shop = store()
    email = unique("cancel")
    guest = shop.guest(email, "Can", "Cel")
    order = shop.place_order(guest, [shop.catalogue.line("24-MB01", 1)])
    shop.clock.advance(60)
    shop.cancel(order)
    marker = shop.place_order(
        shop.guest(unique("marker"), "M", "K"), [shop.catalogue.line("24-UG06", 1)]
    )
    shop.clock.advance(60)
    shop.invoice(marker)
    shop.ship(marker)

    deliver(stack, list(shop.events))

    record(stack, email, "Orders", order.increment_id, orderState="canceled")
    marker_email = marker.email.strip().lower()
    eventually(
        lambda: enrolments_of(stack, marker_email), timeout=90, what="the marker's enrolment"
    )
    assert enrolments_of(stack, email) == []


def test_shipments_before_invoices_enrol_only_once_fulfilment_is_complete(stack: Stack) -> None:
    shop = store()
    email = unique("early")
    guest = shop.guest(email, "Early", "Ship")
    order = shop.place_order(guest, [shop.catalogue.line("24-MB01", 2)])
    shop.clock.advance(60)
    shop.invoice(order)
    shop.clock.advance(60)
    shop.ship(order, {"24-MB01": 1})
    partial = list(shop.events)
    shipments_first = sorted(partial, key=lambda e: "shipment" not in e["type"])

    deliver(stack, shipments_first)
    record(stack, email, "Orders", order.increment_id, fulfilled=False, orderState="processing")
    assert enrolments_of(stack, email) == []

    shop.clock.advance(60)
    shop.ship(order)
    deliver(stack, list(shop.events)[len(partial) :])

    expected = sorted([ORDER_FULFILLED_PROGRAM, FIRST_ORDER_PROGRAM])
    eventually(lambda: enrolments_of(stack, email) == expected, timeout=90, what="enrolments")
    deliver(stack, list(shop.events))  # everything again: nothing more
    record(stack, email, "Orders", order.increment_id, fulfilled=True)
    assert enrolments_of(stack, email) == expected


def test_a_credit_memo_after_an_email_change_lands_on_the_renamed_contact(stack: Stack) -> None:
    shop = store()
    old, new = unique("memo.old"), unique("memo.new")
    customer = shop.register(old, "Mary", "Somerville")
    order = shop.place_order(customer, [shop.catalogue.line("24-MB01", 2)])
    shop.clock.advance(60)
    shop.invoice(order)
    deliver(stack, list(shop.events))
    record(stack, old, "Orders", order.increment_id)
    start = len(shop.events)

    shop.clock.advance(60)
    shop.change_email(customer, new)
    shop.clock.advance(60)
    shop.refund(order, {"24-MB01": 1})
    deliver(stack, list(shop.events)[start:])

    def refunded() -> list[dict[str, Any]] | None:
        return stack.dotdigital.records(new, "Refunds") or None

    (refund,) = eventually(refunded, timeout=90, what="the refund on the renamed contact")
    # Joined before the customer save (another topic), the record was written under the old
    # address just before the rename, and moved with the contact: its `email` says the address
    # the credit memo was made under. Joined after it, it follows the contact: the new one.
    assert refund["json"]["email"] in (old, new)
    assert refund["json"]["orderId"] == order.increment_id
    assert stack.dotdigital.contact(old) is None
    assert record(stack, new, "Orders", order.increment_id, email=new)
