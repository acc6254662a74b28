"""Which of two snapshots of an order is the newer, when Commerce dates saves to the second."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from schemas.contract.normalized import OrderUpdated

# Position in the order lifecycle, for snapshots that share an `updated_at` second.
# `canceled` and `closed` are terminal; `holded` is entered from processing.
STATE_RANK: Mapping[str, int] = {
    "new": 0,
    "pending_payment": 1,
    "payment_review": 2,
    "processing": 3,
    "holded": 4,
    "complete": 5,
    "closed": 6,
    "canceled": 7,
}


def _recency(order: OrderUpdated) -> tuple[datetime, int, Decimal, Decimal]:
    return (
        order.updated_at,
        STATE_RANK.get(order.state or "", -1),
        sum(order.shipped.values(), Decimal(0)),
        order.total_refunded,
    )


def is_newer(current: OrderUpdated | None, candidate: OrderUpdated) -> bool:
    """Whether `candidate` should replace `current`: later `updated_at`, then a later lifecycle
    state, then more shipped, then more refunded (all within one `updated_at` second)."""
    return current is None or _recency(candidate) > _recency(current)
