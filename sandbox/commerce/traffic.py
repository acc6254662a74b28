"""Simulated store traffic: guest and registered shoppers placing and shipping orders, from a seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.commerce.events import (
    CUSTOMER_SAVED,
    ORDER_SAVED,
    SHIPMENT_SAVED,
    Line,
    Order,
    commerce_time,
    envelope,
)

FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Dennis", "Frances")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton")
CATALOGUE = (
    ("MJ01-S-Red", "Beaumont Summit Kit", 1401, Decimal("42.00"), (1400, "MJ01", "Summit Kit")),
    ("24-MB01", "Joust Duffle Bag", 1, Decimal("34.00"), None),
    ("24-WG02", "Didi Sport Watch", 36, Decimal("92.00"), None),
    ("WS03-XS-Blue", "Iris Workout Top", 1546, Decimal("29.00"), (1545, "WS03", "Iris Top")),
    ("24-UG06", "Affirm Water Bottle", 43, Decimal("7.00"), None),
)
ENGRAVING_OPTION = 7


@dataclass(frozen=True)
class Delivery:
    """One event the store will deliver, and when (seconds after the run started)."""

    at: float
    event: dict[str, Any]


class StoreTraffic:
    """A deterministic stream of store activity for a seed; each order ships a little later."""

    def __init__(
        self,
        *,
        client_id: str,
        seed: int = 7,
        start: datetime | None = None,
        orders_per_minute: float = 30.0,
        ship_after_seconds: float = 20.0,
    ) -> None:
        self._random = random.Random(seed)  # noqa: S311 - simulated traffic, not security
        self._client_id = client_id
        self._start = start or datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
        self._gap = 60.0 / orders_per_minute
        self._ship_after = ship_after_seconds
        self._seed = seed

    def _line(self) -> Line:
        sku, name, product_id, price, parent = self._random.choice(CATALOGUE)
        options: list[tuple[int, str, str]] = []
        if self._random.random() < 0.3:
            engraving = self._random.choice(("A.L.", "For Mum", "❤ 2026"))
            options.append((ENGRAVING_OPTION, "Engraving", engraving))
        return Line(sku, name, product_id, self._random.randint(1, 3), price, options, parent)

    def _shopper(self, number: int) -> tuple[str, str, str, int | None]:
        first = self._random.choice(FIRST_NAMES)
        last = self._random.choice(LAST_NAMES)
        registered = self._random.random() < 0.5
        email = f"{first}.{last}.{self._seed}-{number}@example.com".lower()
        if self._random.random() < 0.2:
            email = f"  {email.upper()} "  # Commerce keeps what the shopper typed
        return email, first, last, (10_000 + number if registered else None)

    def deliveries(self, count: int) -> Iterator[Delivery]:
        """`count` orders: a customer save for registered shoppers, the order, then its shipment."""
        pending: list[Delivery] = []
        for number in range(count):
            at = number * self._gap
            moment = self._start + timedelta(seconds=at)
            email, first, last, customer_id = self._shopper(number)
            order = Order(
                entity_id=self._seed * 100_000 + number + 1,
                increment_id=f"{self._seed:03d}{number + 1:06d}",
                email=email,
                firstname=first,
                lastname=last,
                lines=[self._line() for _ in range(self._random.randint(1, 3))],
                created_at=moment,
                customer_id=customer_id,
            )
            if customer_id is not None:
                pending.append(Delivery(at, self.customer_event(order, moment)))
            pending.append(Delivery(at, self.order_event(order, "new", "pending", moment)))
            shipped = moment + timedelta(seconds=self._ship_after)
            pending.append(Delivery(at + self._ship_after, self.shipment_event(order, shipped)))
            pending.append(
                Delivery(
                    at + self._ship_after, self.order_event(order, "complete", "complete", shipped)
                )
            )
        yield from sorted(pending, key=lambda delivery: delivery.at)

    def order_event(self, order: Order, state: str, status: str, at: datetime) -> dict[str, Any]:
        return envelope(
            ORDER_SAVED,
            order.snapshot(state=state, status=status, at=at),
            client_id=self._client_id,
            at=at,
        )

    def shipment_event(self, order: Order, at: datetime) -> dict[str, Any]:
        shipment = order.shipment(shipment_id=order.entity_id, at=at)
        return envelope(SHIPMENT_SAVED, shipment, client_id=self._client_id, at=at)

    def customer_event(self, order: Order, at: datetime) -> dict[str, Any]:
        customer = {
            "id": str(order.customer_id),
            "email": order.email,
            "firstname": order.firstname,
            "lastname": order.lastname,
            "group_id": "1",
            "store_id": "1",
            "website_id": "1",
            "created_at": commerce_time(at),
            "updated_at": commerce_time(at),
        }
        return envelope(CUSTOMER_SAVED, customer, client_id=self._client_id, at=at)
