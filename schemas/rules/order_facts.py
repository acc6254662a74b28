"""What the raw topic has said about one order, folded in any arrival order into one current view.

An order, its shipments and its credit memos share a raw key (`order:<entity_id>`), so they meet
here whatever order they arrive in; what changed is returned as normalized events to publish.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from schemas.commerce.creditmemos import CommerceCreditmemo
from schemas.commerce.orders import CommerceOrder, CommerceShipment
from schemas.contract.normalized import NormalizedEvent, OrderUpdated
from schemas.normalize.orders import order_updated
from schemas.normalize.refunds import refund_recorded
from schemas.rules.order_recency import is_newer


class OrderFacts(BaseModel):
    """Per order entity: its newest snapshot, shipments, credit memos, and what was published."""

    order: dict[str, Any] | None = None
    order_event_id: str | None = None
    order_time: datetime | None = None
    shipments: dict[str, dict[str, Any]] = Field(default_factory=dict)
    creditmemos: dict[str, dict[str, Any]] = Field(default_factory=dict)
    creditmemo_events: dict[str, tuple[str, datetime]] = Field(default_factory=dict)
    published: OrderUpdated | None = None
    refunds_published: dict[str, str] = Field(
        default_factory=dict, description="credit memo id → fingerprint of what was published"
    )


def _digest(raw: dict[str, Any]) -> str:
    canonical = json.dumps(raw, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def _document_id(entity_id: int | None, increment_id: str | None, raw: dict[str, Any]) -> str:
    if entity_id is not None:
        return str(entity_id)
    return increment_id or _digest(raw)


def _current(facts: OrderFacts, event_id: str, occurred_at: datetime) -> OrderUpdated | None:
    """The order as everything known says it is; refunds count even before the order re-saves."""
    if facts.order is None:
        return None
    order = order_updated(
        CommerceOrder.model_validate(facts.order),
        [CommerceShipment.model_validate(raw) for raw in facts.shipments.values()],
        event_id=event_id,
        occurred_at=occurred_at,
    )
    memos = [CommerceCreditmemo.model_validate(raw) for raw in facts.creditmemos.values()]
    refunded = sum((memo.grand_total for memo in memos if memo.counts), Decimal(0))
    if refunded > order.total_refunded:
        order = order.model_copy(update={"total_refunded": refunded})
    return order


def _refund(
    facts: OrderFacts, memo_id: str, raw: dict[str, Any], order: OrderUpdated
) -> NormalizedEvent:
    """A credit memo as a refund record of its own, under the order's buyer and currency."""
    event_id, at = facts.creditmemo_events[memo_id]
    return refund_recorded(
        CommerceCreditmemo.model_validate(raw),
        email=order.email,
        order_increment_id=order.increment_id,
        currency=order.currency,
        event_id=event_id,
        occurred_at=at,
    )


def _publish(
    facts: OrderFacts, candidate: OrderUpdated | None
) -> tuple[OrderFacts, list[NormalizedEvent]]:
    """The order if it moved on, then every credit memo not yet published as it now stands."""
    events: list[NormalizedEvent] = []
    if candidate is not None and is_newer(facts.published, candidate):
        facts = facts.model_copy(update={"published": candidate})
        events.append(candidate)
    known = facts.published
    if known is None:
        return facts, events
    published = dict(facts.refunds_published)
    for memo_id, raw in sorted(facts.creditmemos.items()):
        digest = _digest(raw)
        if published.get(memo_id) == digest:
            continue
        events.append(_refund(facts, memo_id, raw, known))
        published[memo_id] = digest
    return facts.model_copy(update={"refunds_published": published}), events


def fold_order(
    facts: OrderFacts | None, raw: dict[str, Any], *, event_id: str, occurred_at: datetime
) -> tuple[OrderFacts, list[NormalizedEvent]]:
    """Apply an order snapshot; returns the new facts and the events to publish.

    Raises `pydantic.ValidationError` or `schemas.email.InvalidEmail` for payloads that cannot be
    understood; the facts are then unchanged.
    """
    facts = facts or OrderFacts()
    trial = facts.model_copy(
        update={"order": raw, "order_event_id": event_id, "order_time": occurred_at}
    )
    candidate = _current(trial, event_id, occurred_at)
    if candidate is None or not is_newer(facts.published, candidate):
        return facts, []
    return _publish(trial, candidate)


def fold_shipment(
    facts: OrderFacts | None, raw: dict[str, Any], *, event_id: str, occurred_at: datetime
) -> tuple[OrderFacts, list[NormalizedEvent]]:
    """Record a shipment; once the order is known, the order is republished if it moved on."""
    facts = facts or OrderFacts()
    shipment = CommerceShipment.model_validate(raw)
    shipment_id = _document_id(shipment.entity_id, shipment.increment_id, raw)
    if facts.shipments.get(shipment_id) == raw:
        return facts, []
    updated = facts.model_copy(update={"shipments": {**facts.shipments, shipment_id: raw}})
    return _publish(updated, _current(updated, event_id, updated.order_time or occurred_at))


def fold_creditmemo(
    facts: OrderFacts | None, raw: dict[str, Any], *, event_id: str, occurred_at: datetime
) -> tuple[OrderFacts, list[NormalizedEvent]]:
    """Record a credit memo: published as a refund of its own once the order's buyer is known,
    and the order's refunded total follows."""
    facts = facts or OrderFacts()
    memo = CommerceCreditmemo.model_validate(raw)
    memo_id = _document_id(memo.entity_id, memo.increment_id, raw)
    if facts.creditmemos.get(memo_id) == raw:
        return facts, []
    updated = facts.model_copy(
        update={
            "creditmemos": {**facts.creditmemos, memo_id: raw},
            "creditmemo_events": {
                **facts.creditmemo_events,
                memo_id: (event_id, memo.created_at or occurred_at),
            },
        }
    )
    return _publish(updated, _current(updated, event_id, updated.order_time or occurred_at))


def restated(facts: OrderFacts) -> list[NormalizedEvent]:
    """The order and every credit memo as the facts say they stand now, worked out afresh with
    today's code (a replay): what was published before may have been worked out wrongly. Empty
    while no snapshot of the order itself is known (nothing was published for it either)."""
    if facts.order is None or facts.order_event_id is None or facts.order_time is None:
        return []
    order = _current(facts, facts.order_event_id, facts.order_time)
    if order is None:
        return []
    events: list[NormalizedEvent] = [order]
    for memo_id, raw in sorted(facts.creditmemos.items()):
        events.append(_refund(facts, memo_id, raw, order))
    return events
