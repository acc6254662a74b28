"""What the raw topic has said about one order, folded in any arrival order into one current view."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.commerce import CommerceOrder, CommerceShipment
from schemas.normalized import OrderUpdated
from schemas.orders import is_newer, order_updated


class OrderFacts(BaseModel):
    """Per order entity: its newest snapshot, its shipments, and what was last published."""

    order: dict[str, Any] | None = None
    order_event_id: str | None = None
    order_time: datetime | None = None
    shipments: dict[str, dict[str, Any]] = Field(default_factory=dict)
    published: OrderUpdated | None = None


def _shipments(facts: OrderFacts) -> list[CommerceShipment]:
    return [CommerceShipment.model_validate(raw) for raw in facts.shipments.values()]


def _shipment_id(shipment: CommerceShipment, raw: dict[str, Any]) -> str:
    if shipment.entity_id is not None:
        return str(shipment.entity_id)
    if shipment.increment_id:
        return shipment.increment_id
    canonical = json.dumps(raw, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def _publishable(
    facts: OrderFacts, candidate: OrderUpdated
) -> tuple[OrderFacts, OrderUpdated | None]:
    if not is_newer(facts.published, candidate):
        return facts, None
    return facts.model_copy(update={"published": candidate}), candidate


def fold_order(
    facts: OrderFacts | None, raw: dict[str, Any], *, event_id: str, occurred_at: datetime
) -> tuple[OrderFacts, OrderUpdated | None]:
    """Apply an order snapshot; returns the new facts and the event to publish, if any.

    Raises `pydantic.ValidationError` or `schemas.email.InvalidEmail` for payloads that cannot be
    understood; the facts are then unchanged.
    """
    facts = facts or OrderFacts()
    order = CommerceOrder.model_validate(raw)
    candidate = order_updated(order, _shipments(facts), event_id=event_id, occurred_at=occurred_at)
    if not is_newer(facts.published, candidate):
        return facts, None
    updated = facts.model_copy(
        update={"order": raw, "order_event_id": event_id, "order_time": occurred_at}
    )
    return _publishable(updated, candidate)


def fold_shipment(
    facts: OrderFacts | None, raw: dict[str, Any], *, event_id: str, occurred_at: datetime
) -> tuple[OrderFacts, OrderUpdated | None]:
    """Record a shipment; once the order is known, the order is republished if it moved on."""
    facts = facts or OrderFacts()
    shipment = CommerceShipment.model_validate(raw)
    shipment_id = _shipment_id(shipment, raw)
    if facts.shipments.get(shipment_id) == raw:
        return facts, None
    updated = facts.model_copy(update={"shipments": {**facts.shipments, shipment_id: raw}})
    if updated.order is None:
        return updated, None
    candidate = order_updated(
        CommerceOrder.model_validate(updated.order),
        _shipments(updated),
        event_id=event_id,
        occurred_at=updated.order_time or occurred_at,
    )
    return _publishable(updated, candidate)
