"""Sales documents an order accumulates: shipments (with tracks) and credit memos."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

ZERO = Decimal("0")

CREDITMEMO_OPEN, CREDITMEMO_REFUNDED, CREDITMEMO_CANCELED = 1, 2, 3


@dataclass(frozen=True)
class DocumentItem:
    """One order item on a document: which row, how many, and what they were worth."""

    order_item_id: int
    product_id: int
    sku: str
    name: str
    qty: int
    price: Decimal
    parent_id: int | None = None  # the document's parent row when a child row is listed

    def record(self, document_id: int, entity_id: int) -> dict[str, Any]:
        return {
            "entity_id": entity_id,
            "parent_id": document_id,
            "order_item_id": self.order_item_id,
            "product_id": self.product_id,
            "sku": self.sku,
            "name": self.name,
            "qty": Decimal(self.qty),
            "price": self.price,
            "row_total": self.price * self.qty,
            "base_row_total": self.price * self.qty,
        }


@dataclass
class Shipment:
    """A shipment of some order items; tracking numbers may be added by a later save."""

    entity_id: int
    increment_id: str
    order_id: int
    customer_id: int | None
    items: list[DocumentItem]
    created_at: datetime
    updated_at: datetime
    tracks: list[tuple[str, str, datetime]] = field(default_factory=list)  # number, carrier, at

    def record(self) -> dict[str, Any]:
        """The shipment save event's value (and the REST row, with real numbers)."""
        return {
            "entity_id": self.entity_id,
            "increment_id": self.increment_id,
            "order_id": self.order_id,
            "customer_id": self.customer_id,
            "store_id": 1,
            "total_qty": sum((Decimal(item.qty) for item in self.items), ZERO),
            "email_sent": None,
            "items": [
                item.record(self.entity_id, self.entity_id * 100 + n)
                for n, item in enumerate(self.items, start=1)
            ],
            "tracks": [
                {
                    "entity_id": self.entity_id * 10 + n,
                    "parent_id": self.entity_id,
                    "order_id": self.order_id,
                    "track_number": number,
                    "carrier_code": carrier,
                    "title": carrier.upper(),
                    "created_at": at,
                    "updated_at": at,
                }
                for n, (number, carrier, at) in enumerate(self.tracks, start=1)
            ],
            "comments": [],
            "packages": [],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class CreditMemo:
    """A refund of some invoiced items and/or an amount; `state` 2 is refunded."""

    entity_id: int
    increment_id: str
    order_id: int
    items: list[DocumentItem]
    subtotal: Decimal
    tax: Decimal
    shipping: Decimal
    discount: Decimal
    adjustment_positive: Decimal
    adjustment_negative: Decimal
    created_at: datetime
    currency: str = "GBP"
    state: int = CREDITMEMO_REFUNDED

    @property
    def grand_total(self) -> Decimal:
        return (
            self.subtotal
            + self.tax
            + self.shipping
            - self.discount
            + self.adjustment_positive
            - self.adjustment_negative
        )

    def record(self) -> dict[str, Any]:
        """The credit memo save event's value (and the REST row, with real numbers)."""
        adjustment = self.adjustment_positive - self.adjustment_negative
        record: dict[str, Any] = {
            "entity_id": self.entity_id,
            "increment_id": self.increment_id,
            "order_id": self.order_id,
            "store_id": 1,
            "state": self.state,
            "creditmemo_status": None,
            "invoice_id": None,
            "order_currency_code": self.currency,
            "base_currency_code": self.currency,
        }
        for name, amount in (
            ("subtotal", self.subtotal),
            ("tax_amount", self.tax),
            ("shipping_amount", self.shipping),
            ("discount_amount", -self.discount),
            ("adjustment", adjustment),
            ("adjustment_positive", self.adjustment_positive),
            ("adjustment_negative", self.adjustment_negative),
            ("grand_total", self.grand_total),
        ):
            record[name] = amount
            record[f"base_{name}"] = amount
        record.update(
            {
                "items": [
                    item.record(self.entity_id, self.entity_id * 100 + n)
                    for n, item in enumerate(self.items, start=1)
                ],
                "comments": [],
                "created_at": self.created_at,
                "updated_at": self.created_at,
            }
        )
        return record
