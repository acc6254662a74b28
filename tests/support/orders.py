"""Commerce orders as the end-to-end tests deliver them: a fresh order, its signed-event body."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.events import ORDER_SAVED, envelope
from tests.support.accounts import CLIENT_ID

PLACED = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)
_numbers = itertools.count(1)


def new_order(email: str | None = None, *, customer_id: int | None = None) -> Order:
    number = next(_numbers)
    unique = uuid.uuid4().int % 10**6
    return Order(
        entity_id=unique * 10 + number,
        increment_id=f"1{unique:06d}{number:02d}",
        email=email or f"  Shopper.{unique}.{number}@Example.COM ",
        firstname="Grace",
        lastname="Hopper",
        lines=[
            Line(
                "MJ01-S-Red",
                "Beaumont Summit Kit-S-Red",
                1401,
                2,
                Decimal("42.00"),
                [(7, "Engraving", "For Mum")],
                (1400, "MJ01", "Beaumont Summit Kit"),
            ),
            Line("24-MB01", "Joust Duffle Bag", 1, 1, Decimal("34.00")),
        ],
        created_at=PLACED,
        customer_id=customer_id,
        coupon="WELCOME10",
        discount=Decimal("10.00"),
    )


def order_event(order: Order, state: str = "new", status: str = "pending") -> dict[str, Any]:
    return envelope(
        ORDER_SAVED,
        order.snapshot(state=state, status=status, at=PLACED),
        client_id=CLIENT_ID,
        at=PLACED,
    )


def email_of(order: Order) -> str:
    return order.email.strip().lower()
