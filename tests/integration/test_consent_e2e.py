"""Consent both ways, end to end: both sandboxes, the real broker and a worker at default settings
(the suppression feeds read every 30 s). Times are measured from the change in one sandbox to
its effect in the other, through each sandbox's own API."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest

from sandbox.commerce.model.customers import Customer
from sandbox.commerce.simulator.store import Store
from tests.support.stack import (
    ORDER_FULFILLED_PROGRAM,
    Stack,
    enrolments_of,
    eventually,
    read_all,
    read_topic,
)

pytestmark = pytest.mark.integration

CONSENT = "consent.v1"
EXCEPTIONS = "cartwright.exceptions.v1"
PROPAGATION_LIMIT = 60.0
CUSTOMERS = 12


def unique(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@example.com"


def p95(seconds: list[float]) -> float:
    ranked = sorted(seconds)
    return ranked[max(0, math.ceil(0.95 * len(ranked)) - 1)]


def status_in_dotdigital(stack: Stack, email: str) -> str | None:
    contact = stack.dotdigital.contact(email)
    return None if contact is None else str(contact["status"])


def subscribed_customers(stack: Stack, count: int, name: str) -> list[Customer]:
    """Registered customers who subscribed in Commerce, once Dotdigital has them subscribed."""
    customers = stack.commerce.act(
        lambda store: [
            store.register(unique(f"{name}{n}"), "Ada", f"Lovelace{n}", subscribe=True)
            for n in range(count)
        ]
    )
    for customer in customers:
        eventually(
            in_dotdigital(stack, customer.email, "subscribed"),
            timeout=60,
            what=f"{customer.email} subscribed in Dotdigital",
        )
    return customers


def in_dotdigital(stack: Stack, email: str, status: str) -> Callable[[], bool]:
    return lambda: status_in_dotdigital(stack, email) == status


def unsubscribed_in_commerce(stack: Stack, customer_id: int) -> Callable[[], bool]:
    return lambda: (
        stack.commerce.customer(customer_id)["extension_attributes"]["is_subscribed"] is False
    )


def consent_events(stack: Stack, email: str) -> list[dict[str, Any]]:
    return [r["value"] for r in read_all(stack.bootstrap, CONSENT, quiet=1.0) if r["key"] == email]


def exceptions_for(stack: Stack, email: str, reason: str) -> list[dict[str, Any]]:
    found = read_topic(
        stack.bootstrap,
        EXCEPTIONS,
        lambda seen: any(r["value"]["reason"] == reason and r["key"] == email for r in seen),
        timeout=60,
    )
    return [r["value"] for r in found if r["value"]["reason"] == reason and r["key"] == email]


def latencies(stack: Stack) -> dict[str, Any]:
    status: dict[str, Any] = httpx.get(f"{stack.worker_url}/ops/status", timeout=5).json()
    return status["latencies"]  # type: ignore[no-any-return]


def consent_writes(stack: Stack, email: str) -> list[str]:
    """The consent commands sent to Dotdigital for `email`, in order."""
    return [
        r["value"]["command"]["action"]
        for r in read_all(stack.bootstrap, "dotdigital.writes.realtime.v1", quiet=1.0)
        if r["value"]["command"]["kind"] == "consent" and r["value"]["command"]["email"] == email
    ]


def test_unsubscribe_in_commerce_reaches_dotdigital_and_closes_the_gate(stack: Stack) -> None:
    customers = subscribed_customers(stack, CUSTOMERS, "leaving")
    took: list[float] = []
    for customer in customers:
        started = time.monotonic()
        stack.commerce.act(partial(Store.set_subscription, customer=customer, subscribed=False))
        eventually(
            in_dotdigital(stack, customer.email, "unsubscribed"),
            timeout=PROPAGATION_LIMIT * 2,
            what=f"{customer.email} unsubscribed in Dotdigital",
        )
        took.append(time.monotonic() - started)
    print(f"Commerce → Dotdigital: p95 {p95(took):.2f} s, max {max(took):.2f} s over {len(took)}")
    assert p95(took) < PROPAGATION_LIMIT

    # A fulfilled order afterwards lands as purchase data but starts no journey.
    buyer = customers[0]

    def buy(store: Store) -> str:
        order = store.place_order(buyer, [store.catalogue.line("24-UG06", 1)])
        store.invoice(order)
        store.ship(order)
        return order.increment_id

    number = stack.commerce.act(buy)
    eventually(
        lambda: stack.dotdigital.record(buyer.email, "Orders", number),
        timeout=60,
        what=f"order {number} in Dotdigital",
    )
    (skipped, *_) = exceptions_for(stack, buyer.email, "consent_gate")
    assert skipped["severity"] == "info"
    assert skipped["message"].startswith("enrolment skipped: unsubscribed on ")
    assert skipped["message"].endswith(" via commerce")
    assert ORDER_FULFILLED_PROGRAM not in enrolments_of(stack, buyer.email)

    # Dotdigital's feed later lists these unsubscribes: that is no change, so nothing comes back.
    last = customers[-1].email
    read_topic(
        stack.bootstrap,
        "cartwright.consent.observed.v1",
        lambda seen: any(r["key"] == last and r["value"]["source"] == "dotdigital" for r in seen),
        timeout=PROPAGATION_LIMIT * 2,
    )
    for customer in customers:
        statuses = [(e["status"], e["source"]) for e in consent_events(stack, customer.email)]
        assert statuses == [
            ("pending", "commerce"),
            ("subscribed", "dotdigital"),
            ("unsubscribed", "commerce"),
        ], customer.email
        assert (
            stack.commerce.customer(customer.id)["extension_attributes"]["is_subscribed"] is False
        )
    assert latencies(stack)["consent.propagation.commerce_to_dotdigital"]["count"] >= CUSTOMERS


def test_unsubscribe_in_dotdigital_reaches_commerce_without_echo(stack: Stack) -> None:
    customers = subscribed_customers(stack, CUSTOMERS, "optout")
    guest = unique("guest")
    stack.commerce.act(lambda store: store.subscribe(guest, 1))
    eventually(lambda: status_in_dotdigital(stack, guest) == "subscribed", what="guest subscribed")

    started: dict[int, float] = {}
    for customer in customers:
        started[customer.id] = time.monotonic()
        stack.dotdigital.admin(f"contacts/{customer.email}/status", {"status": "unsubscribed"})
    stack.dotdigital.admin(f"contacts/{guest}/status", {"status": "unsubscribed"})

    took: list[float] = []
    for customer in customers:
        eventually(
            unsubscribed_in_commerce(stack, customer.id),
            timeout=PROPAGATION_LIMIT * 2,
            what=f"{customer.email} unsubscribed in Commerce",
        )
        took.append(time.monotonic() - started[customer.id])
    print(f"Dotdigital → Commerce: p95 {p95(took):.2f} s, max {max(took):.2f} s over {len(took)}")
    assert p95(took) < PROPAGATION_LIMIT

    # The guest has no Commerce API: an informational exception names them, by its key and
    # email field; its words carry the address masked.
    (notice, *_) = exceptions_for(stack, guest, "guest_unsubscribe")
    assert notice["severity"] == "info"
    assert guest not in notice["message"] and guest.split("@")[1] in notice["message"]

    # Our write-back came round as Commerce newsletter saves: not a change, nothing went back.
    last = customers[-1]
    read_topic(
        stack.bootstrap,
        "cartwright.consent.observed.v1",
        lambda seen: any(
            r["key"] == last.email
            and r["value"]["source"] == "commerce"
            and r["value"]["status"] == "unsubscribed"
            for r in seen
        ),
        timeout=60,
    )
    for customer in customers:
        statuses = [(e["status"], e["source"]) for e in consent_events(stack, customer.email)]
        assert statuses == [
            ("pending", "commerce"),
            ("subscribed", "dotdigital"),
            ("unsubscribed", "dotdigital"),
        ], customer.email
    # ...and no unsubscribe was sent back to Dotdigital, where the change came from.
    for customer in customers:
        assert consent_writes(stack, customer.email) == ["resubscribe"], customer.email
    assert latencies(stack)["consent.propagation.dotdigital_to_commerce"]["count"] >= CUSTOMERS


def test_hard_bounced_contact_resubscribing_in_commerce_stays_suppressed(stack: Stack) -> None:
    (customer,) = subscribed_customers(stack, 1, "bounced")
    stack.dotdigital.admin(f"contacts/{customer.email}/status", {"status": "hardBounced"})
    eventually(
        lambda: (
            stack.commerce.customer(customer.id)["extension_attributes"]["is_subscribed"] is False
        ),
        timeout=PROPAGATION_LIMIT * 2,
        what="the bounce written back to Commerce",
    )

    stack.commerce.act(lambda store: store.set_subscription(customer, True))
    (refused, *_) = exceptions_for(stack, customer.email, "resubscribe_refused")
    assert refused["severity"] == "warning"
    assert "stays suppressed" in refused["message"] and "hardBounced" in refused["message"]
    assert status_in_dotdigital(stack, customer.email) == "hardBounced"
    # Both sides agree again: Commerce is told the contact is not subscribed.
    eventually(
        lambda: (
            stack.commerce.customer(customer.id)["extension_attributes"]["is_subscribed"] is False
        ),
        timeout=60,
        what="Commerce back in step with the suppression",
    )
    last = consent_events(stack, customer.email)[-1]
    assert (last["status"], last["source"]) == ("suppressed", "dotdigital")
