"""An order as Commerce keeps it: totals, counters, item rows (parents and children), snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.wire import loose, money, rest

ZERO = Decimal("0")


@dataclass
class Order:
    """An order's facts and lifecycle; `snapshot()` renders the order save event's payload."""

    entity_id: int
    increment_id: str
    email: str
    firstname: str
    lastname: str
    lines: list[Line]
    created_at: datetime
    customer_id: int | None = None
    currency: str = "GBP"
    shipping: Decimal = Decimal("4.99")
    discount: Decimal = ZERO
    coupon: str | None = None
    quote_id: int = 0
    tax_rate: Decimal = Decimal("0.2")
    state: str = "new"
    status: str = "pending"
    updated_at: datetime | None = None
    hold_before: tuple[str, str] | None = None
    total_invoiced: Decimal | None = None
    total_refunded: Decimal | None = None
    total_canceled: Decimal | None = None
    shipping_refunded: Decimal = ZERO
    adjustment_positive: Decimal = ZERO
    adjustment_negative: Decimal = ZERO
    relation_parent_id: int | None = None
    original_increment_id: str | None = None
    relation_child_id: int | None = None
    relation_child_real_id: str | None = None
    edit_increment: int | None = None
    history: list[tuple[datetime, str, str]] = field(default_factory=list)
    revision: int = 0  # bumped by every save, so derived views know when to re-read

    @property
    def subtotal(self) -> Decimal:
        return sum((line.row_total for line in self.lines), ZERO)

    @property
    def tax(self) -> Decimal:
        return money(self.subtotal * self.tax_rate)

    @property
    def grand_total(self) -> Decimal:
        return self.subtotal + self.tax + self.shipping - self.discount

    @property
    def is_virtual(self) -> bool:
        return all(line.virtual for line in self.lines)

    @property
    def guest(self) -> bool:
        return self.customer_id is None

    def shares(self, total: Decimal) -> list[Decimal]:
        """`total` spread over the lines by row total, the last line taking the rounding."""
        shares, left = [], total
        for index, line in enumerate(self.lines):
            last = index == len(self.lines) - 1
            share = left if last else money(total * line.row_total / (self.subtotal or 1))
            shares.append(share)
            left -= share
        return shares

    def unit_amounts(self) -> list[Decimal]:
        """What one unit of each line costs the shopper: price, tax share, less discount share."""
        taxes, discounts = self.shares(self.tax), self.shares(self.discount)
        return [
            (line.row_total + tax - discount) / line.qty
            for line, tax, discount in zip(self.lines, taxes, discounts, strict=True)
        ]

    def row_ids(self) -> list[tuple[int, list[int]]]:
        """Per line: the item id of its top row and of its child rows."""
        ids, next_id = [], self.entity_id * 100
        for line in self.lines:
            next_id += 1
            top = next_id
            children = len(line.bundle) or (1 if line.parent else 0)
            ids.append((top, list(range(top + 1, top + 1 + children))))
            next_id += children
        return ids

    def items(self, *, assume_shipped: bool = False) -> list[dict[str, Any]]:
        """Commerce's item rows: configurable and bundle lines are a parent row plus children."""
        rows: list[dict[str, Any]] = []
        taxes, discounts = self.shares(self.tax), self.shares(self.discount)
        for line, (top, children), tax, discount in zip(
            self.lines, self.row_ids(), taxes, discounts, strict=True
        ):
            shipped = line.qty if assume_shipped and not line.virtual else line.shipped
            row = self._row(line, top, None, line.qty, line.price, shipped)
            row["tax_amount"] = tax
            row["discount_amount"] = discount
            row["amount_refunded"] = money(line.price * line.refunded)
            row["product_option"], row["product_options"] = line.options()
            rows.append(row)
            if line.parent:
                child = self._row(line, children[0], top, line.qty, ZERO, shipped)
                child.update(product_id=line.product_id, name=line.name, product_type="simple")
                rows.append(child)
            for part, child_id in zip(line.bundle, children if line.bundle else [], strict=True):
                child = self._row(line, child_id, top, part.qty * line.qty, part.price, shipped)
                child.update(product_id=part.product_id, sku=part.sku, name=part.name)
                child["product_type"] = "simple"
                rows.append(child)
        return rows

    def _row(
        self, line: Line, item_id: int, parent: int | None, qty: int, price: Decimal, shipped: int
    ) -> dict[str, Any]:
        ratio = Decimal(qty) / line.qty
        return {
            "item_id": item_id,
            "order_id": self.entity_id,
            "parent_item_id": parent,
            "quote_item_id": item_id + 7_000_000,
            "product_id": line.parent[0] if line.parent and parent is None else line.product_id,
            "sku": line.sku,
            "name": line.parent[2] if line.parent and parent is None else line.name,
            "product_type": line.product_type(),
            "is_virtual": int(line.virtual),
            "qty_ordered": Decimal(qty),
            "qty_invoiced": line.invoiced * ratio,
            "qty_shipped": shipped * ratio,
            "qty_refunded": line.refunded * ratio,
            "qty_canceled": line.canceled * ratio,
            "price": price,
            "base_price": price,
            "original_price": price,
            "price_incl_tax": money(price * (1 + self.tax_rate)),
            "row_total": price * qty,
            "base_row_total": price * qty,
            "tax_percent": self.tax_rate * 100,
            "tax_amount": ZERO,
            "discount_amount": ZERO,
            "created_at": self.created_at,
            "updated_at": self.updated_at or self.created_at,
        }

    def address(self, kind: str) -> dict[str, Any]:
        return {
            "address_type": kind,
            "parent_id": self.entity_id,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "street": "1 Loom Lane",
            "city": "Leeds",
            "postcode": "LS1 4AP",
            "country_id": "GB",
            "telephone": "0113 496 0000",
            "email": self.email,
        }

    def record(
        self, *, state: str | None = None, status: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        """The order as its row holds it, typed (Decimals, ints, datetimes), in the event's shape."""
        state = state or self.state
        legacy_complete = state == "complete" and not any(line.shipped for line in self.lines)
        total_qty = sum((Decimal(line.qty) for line in self.lines), ZERO)
        record: dict[str, Any] = {
            "entity_id": self.entity_id,
            "increment_id": self.increment_id,
            "state": state,
            "status": status or self.status,
            "customer_email": self.email,
            "customer_id": self.customer_id,
            "customer_is_guest": int(self.guest),
            "customer_group_id": 0 if self.guest else 1,
            "customer_firstname": self.firstname,
            "customer_lastname": self.lastname,
            "store_id": 1,
            "store_name": "Main Website\nMain Website Store\nDefault Store View",
            "quote_id": self.quote_id or self.entity_id + 500,
            "is_virtual": int(self.is_virtual),
            "order_currency_code": self.currency,
            "base_currency_code": self.currency,
            "total_qty_ordered": total_qty,
            "total_item_count": len(self.lines),
        }
        for name, amount in (
            ("subtotal", self.subtotal),
            ("tax_amount", self.tax),
            ("shipping_amount", self.shipping),
            ("discount_amount", -self.discount),
            ("grand_total", self.grand_total),
        ):
            record[name] = amount
            record[f"base_{name}"] = amount
        record.update(
            {
                "total_invoiced": self.total_invoiced,
                "total_paid": self.total_invoiced,
                "total_due": self.grand_total - (self.total_invoiced or ZERO),
                "total_refunded": self.total_refunded,
                "total_offline_refunded": self.total_refunded,
                "total_canceled": self.total_canceled,
                "shipping_refunded": self.shipping_refunded or None,
                "adjustment_positive": self.adjustment_positive or None,
                "adjustment_negative": self.adjustment_negative or None,
                "coupon_code": self.coupon,
                "discount_description": self.coupon,
                "shipping_description": "Flat Rate - Fixed",
                "shipping_method": None if self.is_virtual else "flatrate_flatrate",
                "hold_before_state": self.hold_before[0] if self.hold_before else None,
                "hold_before_status": self.hold_before[1] if self.hold_before else None,
                "relation_parent_id": self.relation_parent_id,
                "relation_parent_real_id": self.original_increment_id,
                "original_increment_id": self.original_increment_id,
                "relation_child_id": self.relation_child_id,
                "relation_child_real_id": self.relation_child_real_id,
                "edit_increment": self.edit_increment,
                "created_at": self.created_at,
                "updated_at": at or self.updated_at or self.created_at,
                "items": self.items(assume_shipped=legacy_complete),
                "addresses": [self.address("billing"), self.address("shipping")],
                "payment": {
                    "method": "checkmo",
                    "amount_ordered": self.grand_total,
                    "amount_paid": self.total_invoiced,
                    "amount_refunded": self.total_refunded,
                    "additional_information": ["Check / Money order"],
                },
            }
        )
        return record

    def snapshot(
        self, *, state: str | None = None, status: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        """The order save event's `data.value`: the full current state, loosely typed."""
        return dict(loose(self.record(state=state, status=status, at=at)))

    def rest(self) -> dict[str, Any]:
        """`GET /V1/orders/{id}`: real numbers, addresses where the REST API keeps them."""
        record = self.record()
        billing, shipping = record.pop("addresses")
        record["billing_address"] = {**billing, "street": [billing["street"]]}
        record["extension_attributes"] = {
            "shipping_assignments": [
                {
                    "shipping": {
                        "address": {**shipping, "street": [shipping["street"]]},
                        "method": record["shipping_method"],
                        "total": {"shipping_amount": self.shipping},
                    },
                    "items": record["items"],
                }
            ]
        }
        record["status_histories"] = [
            {"comment": comment, "status": status, "created_at": at, "entity_name": "order"}
            for at, status, comment in reversed(self.history)
        ]
        return dict(rest(record))

    def shipment(self, *, shipment_id: int, at: datetime) -> dict[str, Any]:
        """A shipment of every item in one go, loosely typed (a shortcut for hand-made tests)."""
        rows = [row for row in self.items() if row["parent_item_id"] is None]
        return dict(
            loose(
                {
                    "entity_id": shipment_id,
                    "order_id": self.entity_id,
                    "increment_id": f"S{self.increment_id}",
                    "store_id": 1,
                    "total_qty": sum((Decimal(line.qty) for line in self.lines), ZERO),
                    "items": [
                        {"order_item_id": r["item_id"], "qty": r["qty_ordered"], "sku": r["sku"]}
                        for r in rows
                    ],
                    "tracks": [{"track_number": f"TRK{shipment_id:08d}", "carrier_code": "ups"}],
                    "created_at": at,
                    "updated_at": at,
                }
            )
        )
