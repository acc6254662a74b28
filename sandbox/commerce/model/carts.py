"""Carts (quotes): items, who owns them, an email only from the payment step for guests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.orders import ZERO
from sandbox.commerce.model.wire import money

TAX_RATE = Decimal("0.2")
SHIPPING = Decimal("4.99")


@dataclass
class Quote:
    """A cart; inactive once converted to an order (`reserved_order_id` names that order)."""

    entity_id: int
    masked_id: str
    created_at: datetime
    updated_at: datetime
    customer_id: int | None = None
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    lines: list[Line] = field(default_factory=list)
    is_active: bool = True
    reserved_order_id: str | None = None
    currency: str = "GBP"

    @property
    def subtotal(self) -> Decimal:
        return sum((line.row_total for line in self.lines), ZERO)

    @property
    def shipping(self) -> Decimal:
        return ZERO if all(line.virtual for line in self.lines) else SHIPPING

    @property
    def tax(self) -> Decimal:
        return money(self.subtotal * TAX_RATE)

    @property
    def grand_total(self) -> Decimal:
        return self.subtotal + self.tax + self.shipping if self.lines else ZERO

    def _items(self) -> list[dict[str, Any]]:
        return [
            {
                "item_id": self.entity_id * 100 + n,
                "quote_id": self.entity_id,
                "sku": line.sku,
                "name": line.name,
                "product_id": line.parent[0] if line.parent else line.product_id,
                "product_type": line.product_type(),
                "qty": Decimal(line.qty),
                "price": line.price,
                "row_total": line.row_total,
                "created_at": self.created_at,
                "updated_at": self.updated_at,
            }
            for n, line in enumerate(self.lines, start=1)
        ]

    def record(self) -> dict[str, Any]:
        """The quote save event's value: the quote row, `customer_email` empty until known."""
        return {
            "entity_id": self.entity_id,
            "store_id": 1,
            "is_active": self.is_active,
            "is_virtual": bool(self.lines) and all(line.virtual for line in self.lines),
            "items_count": len(self.lines),
            "items_qty": sum((Decimal(line.qty) for line in self.lines), ZERO),
            "items": self._items(),
            "customer_id": self.customer_id,
            "customer_email": self.email,
            "customer_firstname": self.firstname,
            "customer_lastname": self.lastname,
            "customer_is_guest": self.customer_id is None,
            "quote_currency_code": self.currency,
            "subtotal": self.subtotal,
            "grand_total": self.grand_total,
            "base_grand_total": self.grand_total,
            "reserved_order_id": self.reserved_order_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def rest(self) -> dict[str, Any]:
        """A `GET /V1/carts/search` row: the customer nested, `id` instead of `entity_id`."""
        record = self.record()
        return {
            "id": self.entity_id,
            "created_at": record["created_at"],
            "updated_at": record["updated_at"],
            "is_active": self.is_active,
            "is_virtual": record["is_virtual"],
            "items": record["items"],
            "items_count": record["items_count"],
            "items_qty": record["items_qty"],
            "customer": {
                "id": self.customer_id,
                "email": self.email,
                "firstname": self.firstname,
                "lastname": self.lastname,
            },
            "customer_email": self.email,
            "customer_is_guest": self.customer_id is None,
            "reserved_order_id": self.reserved_order_id,
            "orig_order_id": 0,
            "currency": {"quote_currency_code": self.currency, "base_currency_code": self.currency},
            "store_id": 1,
        }

    def totals(self) -> dict[str, Any]:
        """`GET /V1/carts/{id}/totals`."""
        return {
            "grand_total": self.grand_total,
            "base_grand_total": self.grand_total,
            "subtotal": self.subtotal,
            "base_subtotal": self.subtotal,
            "discount_amount": ZERO,
            "subtotal_with_discount": self.subtotal,
            "shipping_amount": self.shipping,
            "tax_amount": self.tax,
            "items_qty": sum(line.qty for line in self.lines),
            "quote_currency_code": self.currency,
            "base_currency_code": self.currency,
            "items": [
                {
                    "item_id": item["item_id"],
                    "price": item["price"],
                    "qty": item["qty"],
                    "row_total": item["row_total"],
                    "tax_percent": TAX_RATE * 100,
                    "name": item["name"],
                }
                for item in self._items()
            ],
            "total_segments": [
                {"code": "subtotal", "title": "Subtotal", "value": self.subtotal},
                {"code": "shipping", "title": "Shipping & Handling", "value": self.shipping},
                {"code": "tax", "title": "Tax", "value": self.tax},
                {"code": "grand_total", "title": "Grand Total", "value": self.grand_total},
            ],
        }
