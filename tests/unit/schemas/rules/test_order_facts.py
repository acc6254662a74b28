"""Folding an order's raw events, in any arrival order, into one current `OrderUpdated`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.events import (
    CREDITMEMO_SAVED,
    ORDER_SAVED,
    QUOTE_SAVED,
    SHIPMENT_SAVED,
)
from sandbox.commerce.simulator.store import Store
from schemas.contract.normalized import NormalizedEvent, OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.email import InvalidEmail
from schemas.rules import order_facts
from schemas.rules.order_facts import OrderFacts

PLACED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SHIPPED_AT = PLACED_AT + timedelta(hours=20)
COMPLETED_AT = SHIPPED_AT + timedelta(minutes=1)


def _order_only(
    result: tuple[OrderFacts, list[Any]],
) -> tuple[OrderFacts, OrderUpdated | None]:
    """These tests look at the order alone; refunds have their own tests."""
    facts, events = result
    orders = [event for event in events if isinstance(event, OrderUpdated)]
    return facts, (orders[-1] if orders else None)


def fold_order(
    facts: OrderFacts | None, raw: dict[str, Any], **when: Any
) -> tuple[OrderFacts, OrderUpdated | None]:
    return _order_only(order_facts.fold_order(facts, raw, **when))


def fold_shipment(
    facts: OrderFacts | None, raw: dict[str, Any], **when: Any
) -> tuple[OrderFacts, OrderUpdated | None]:
    return _order_only(order_facts.fold_shipment(facts, raw, **when))


def make_order(email: str = "ada@example.com") -> Order:
    return Order(
        entity_id=42,
        increment_id="000000042",
        email=email,
        firstname="Ada",
        lastname="Lovelace",
        lines=[
            Line(sku="LOOM-1", name="Loom", product_id=7, qty=1, price=Decimal("120")),
            Line(sku="YARN-2", name="Yarn", product_id=8, qty=3, price=Decimal("4.50")),
        ],
        created_at=PLACED_AT,
    )


ORDER = make_order()
PLACED = ORDER.snapshot(state="new", status="pending", at=PLACED_AT)
PROCESSING = ORDER.snapshot(
    state="processing", status="processing", at=PLACED_AT + timedelta(days=1)
)
COMPLETE = ORDER.snapshot(state="complete", status="complete", at=COMPLETED_AT)
SHIPMENT = ORDER.shipment(shipment_id=9001, at=SHIPPED_AT)


@dataclass(frozen=True)
class Event:
    """One raw event as the raw topic delivers it (a redelivery repeats it exactly)."""

    event_id: str
    kind: str
    raw: dict[str, Any]
    occurred_at: datetime


EVENTS = (
    Event("evt-placed", "order", PLACED, PLACED_AT),
    Event("evt-shipment", "shipment", SHIPMENT, SHIPPED_AT),
    Event("evt-complete", "order", COMPLETE, COMPLETED_AT),
)


def fold(facts: OrderFacts | None, event: Event) -> tuple[OrderFacts, OrderUpdated | None]:
    folder = fold_order if event.kind == "order" else fold_shipment
    return folder(facts, event.raw, event_id=event.event_id, occurred_at=event.occurred_at)


def replay(events: list[Event]) -> tuple[OrderFacts | None, list[OrderUpdated]]:
    facts: OrderFacts | None = None
    published: list[OrderUpdated] = []
    for event in events:
        facts, out = fold(facts, event)
        if out is not None:
            published.append(out)
    return facts, published


def content(order: OrderUpdated) -> dict[str, Any]:
    return order.model_dump(exclude={"event_id", "occurred_at"})


def test_first_order_snapshot_is_published() -> None:
    facts, published = fold_order(None, PLACED, event_id="evt-placed", occurred_at=PLACED_AT)

    assert published is not None
    assert (published.increment_id, published.state, published.fulfilled) == (
        "000000042",
        "new",
        False,
    )
    assert facts.published == published
    assert facts.order == PLACED


def test_shipment_before_order_publishes_nothing_until_the_order_arrives_fulfilled() -> None:
    facts, early = fold_shipment(None, SHIPMENT, event_id="evt-ship", occurred_at=SHIPPED_AT)
    assert early is None
    assert facts.published is None

    facts, published = fold_order(facts, PLACED, event_id="evt-placed", occurred_at=PLACED_AT)

    assert published is not None
    assert published.fulfilled is True
    assert published.state == "new"
    assert all(line.qty_shipped == line.qty for line in published.lines)


def test_shipment_after_order_republishes_it_fulfilled() -> None:
    facts, _ = fold_order(None, PLACED, event_id="evt-placed", occurred_at=PLACED_AT)

    facts, published = fold_shipment(facts, SHIPMENT, event_id="evt-ship", occurred_at=SHIPPED_AT)

    assert published is not None
    assert published.fulfilled is True
    assert published.occurred_at == PLACED_AT  # the order's time, not the shipment's


def test_duplicate_order_snapshot_publishes_nothing() -> None:
    facts, first = fold_order(None, PLACED, event_id="evt-placed", occurred_at=PLACED_AT)

    again, second = fold_order(facts, PLACED, event_id="evt-placed", occurred_at=PLACED_AT)

    assert first is not None
    assert second is None
    assert again == facts


def test_stale_snapshot_after_a_newer_one_publishes_nothing_and_keeps_the_newer() -> None:
    facts, newer = fold_order(None, PROCESSING, event_id="evt-proc", occurred_at=PLACED_AT)

    facts, stale = fold_order(facts, PLACED, event_id="evt-placed", occurred_at=PLACED_AT)

    assert stale is None
    assert newer is not None
    assert facts.order == PROCESSING
    assert facts.order_event_id == "evt-proc"
    assert facts.published == newer


def test_duplicate_shipment_publishes_nothing() -> None:
    facts, _ = fold_order(None, PLACED, event_id="evt-placed", occurred_at=PLACED_AT)
    facts, first = fold_shipment(facts, SHIPMENT, event_id="evt-ship", occurred_at=SHIPPED_AT)

    again, second = fold_shipment(facts, SHIPMENT, event_id="evt-ship", occurred_at=SHIPPED_AT)

    assert first is not None
    assert second is None
    assert again == facts


def test_shipment_saved_again_with_tracking_is_one_shipment() -> None:
    facts, _ = fold_order(None, PLACED, event_id="evt-placed", occurred_at=PLACED_AT)
    facts, _ = fold_shipment(facts, SHIPMENT, event_id="evt-ship", occurred_at=SHIPPED_AT)
    tracked = {**SHIPMENT, "tracks": [{"track_number": "TRK2", "carrier_code": "dhl"}]}

    facts, republished = fold_shipment(
        facts, tracked, event_id="evt-ship-2", occurred_at=SHIPPED_AT
    )

    assert republished is None  # nothing a contact sees changed: still shipped once, in full
    assert list(facts.shipments) == ["9001"]
    assert facts.published is not None
    assert facts.published.shipped == {4201: Decimal(1), 4202: Decimal(3)}


def test_invalid_email_is_refused_and_facts_stay_unchanged() -> None:
    bad = make_order("not an email").snapshot(state="new", status="pending", at=PLACED_AT)
    facts, _ = fold_shipment(None, SHIPMENT, event_id="evt-ship", occurred_at=SHIPPED_AT)

    with pytest.raises(InvalidEmail):
        fold_order(facts, bad, event_id="evt-bad", occurred_at=PLACED_AT)
    assert facts.order is None


def test_in_order_delivery_ends_complete_and_fulfilled() -> None:
    facts, published = replay(list(EVENTS))

    assert [p.event_id for p in published] == ["evt-placed", "evt-shipment", "evt-complete"]
    assert published[-1].state == "complete"
    assert published[-1].fulfilled is True
    assert facts is not None
    assert facts.published == published[-1]


_IN_ORDER = content(replay(list(EVENTS))[1][-1])
_arrivals = st.lists(st.sampled_from(EVENTS), max_size=5).flatmap(
    lambda extra: st.permutations([*EVENTS, *extra])
)


@given(arrivals=_arrivals)
def test_any_arrival_order_ends_with_the_in_order_content(arrivals: list[Event]) -> None:
    facts, published = replay(arrivals)

    assert published, "something must be published once the order is known"
    assert content(published[-1]) == _IN_ORDER
    assert facts is not None
    assert facts.published == published[-1]


def store_history() -> list[dict[str, Any]]:
    """An order placed, invoiced, shipped, then refunded in two credit memos, as Commerce sends it."""
    store = Store(seed=5)
    guest = store.guest("ada@example.com", "Ada", "Lovelace")
    placed = store.place_order(guest, [store.catalogue.line("24-MB01", 2)])
    store.clock.advance(60)
    store.invoice(placed)
    store.clock.advance(60)
    store.ship(placed)
    store.clock.advance(60)
    store.refund(placed, {"24-MB01": 1})
    store.clock.advance(60)
    store.refund(placed)
    return [e for e in store.events if e["type"] != QUOTE_SAVED]


def folded(events: list[dict[str, Any]]) -> tuple[OrderFacts | None, list[NormalizedEvent]]:
    folds = {
        ORDER_SAVED: order_facts.fold_order,
        SHIPMENT_SAVED: order_facts.fold_shipment,
        CREDITMEMO_SAVED: order_facts.fold_creditmemo,
    }
    facts: OrderFacts | None = None
    published: list[NormalizedEvent] = []
    for event in events:
        facts, out = folds[event["type"]](
            facts,
            event["data"]["value"],
            event_id=event["eventid"],
            occurred_at=datetime.fromisoformat(event["time"]),
        )
        published += out
    return facts, published


def test_a_restated_order_is_its_current_snapshot_and_every_refund() -> None:
    facts, published = folded(store_history())
    assert facts is not None
    last_order = [e for e in published if isinstance(e, OrderUpdated)][-1]
    refunds = [e for e in published if isinstance(e, RefundRecorded)]

    again = order_facts.restated(facts)

    assert again == [last_order, *refunds]
    order, *memos = again
    assert isinstance(order, OrderUpdated)
    assert order.fulfilled and order.total_refunded == order.grand_total
    assert len(memos) == 2
    assert {m.increment_id for m in memos if isinstance(m, RefundRecorded)} == {
        r.increment_id for r in refunds
    }


def test_a_restated_order_is_worked_out_afresh_not_taken_from_what_was_published() -> None:
    # What was published may have been worked out by a bad deploy; a replay must not send it on.
    facts, _ = folded(store_history())
    assert facts is not None
    assert facts.published is not None
    wrong = facts.published.model_copy(update={"grand_total": Decimal("1"), "email": "x@x.com"})
    stale = facts.model_copy(update={"published": wrong, "refunds_published": {}})

    again = order_facts.restated(stale)

    assert again == order_facts.restated(facts)
    assert again[0] != wrong


def test_restating_changes_nothing_it_is_given() -> None:
    facts, _ = folded(store_history())
    assert facts is not None
    before = facts.model_dump()

    order_facts.restated(facts)

    assert facts.model_dump() == before


def test_nothing_is_restated_before_the_order_itself_is_known() -> None:
    # Shipments and credit memos arrived, the order snapshot not yet: nothing was published.
    history = store_history()
    facts, published = folded([e for e in history if e["type"] != ORDER_SAVED])

    assert facts is not None and published == []
    assert order_facts.restated(facts) == []
    assert order_facts.restated(OrderFacts()) == []
