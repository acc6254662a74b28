"""Adobe I/O CloudEvents as Adobe Commerce emits them: loose types, naive UTC dates, full snapshots."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

EVENT_PREFIX = "com.adobe.commerce.observer."
ORDER_SAVED = EVENT_PREFIX + "sales_order_save_commit_after"
SHIPMENT_SAVED = EVENT_PREFIX + "sales_order_shipment_save_commit_after"
CUSTOMER_SAVED = EVENT_PREFIX + "customer_save_commit_after"

PROVIDER = "urn:uuid:7f3c1a52-cartwright-sandbox"


def commerce_time(moment: datetime) -> str:
    """Commerce's `YYYY-MM-DD HH:MM:SS`, UTC without a zone."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def loose_decimal(value: Decimal | int | float) -> str:
    """Decimals as Commerce's event payloads carry them: strings with six places."""
    return f"{Decimal(value):.6f}"


def envelope(
    event_type: str,
    value: dict[str, Any],
    *,
    client_id: str,
    at: datetime,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A CloudEvents 1.0 envelope around one Commerce entity snapshot."""
    eid = event_id or str(uuid.uuid4())
    return {
        "specversion": "1.0",
        "id": eid,
        "type": event_type,
        "source": PROVIDER,
        "time": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "eventid": eid,
        "event_id": eid,
        "recipientclientid": client_id,
        "data": {
            "key": str(uuid.uuid4()),
            "value": value,
            "source": "cartwright.sandbox",
            "_metadata": {
                "commerceEdition": "Adobe Commerce",
                "commerceVersion": "2.4.8",
                "eventsClientVersion": "1.12.0",
                "storeId": "1",
                "websiteId": "1",
                "storeGroupId": "1",
            },
        },
    }


@dataclass
class Line:
    """One product on an order, as the sandbox store sells it."""

    sku: str
    name: str
    product_id: int
    qty: int
    price: Decimal
    custom_options: list[tuple[int, str, str]] = field(default_factory=list)  # id, label, value
    parent: tuple[int, str, str] | None = None  # configurable parent: (product id, sku, name)
    virtual: bool = False


@dataclass
class Order:
    """An order's facts; `snapshot()` renders the event payload at a point in its life."""

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
    discount: Decimal = Decimal("0")
    coupon: str | None = None
    quote_id: int = 0
    tax_rate: Decimal = Decimal("0.2")

    @property
    def subtotal(self) -> Decimal:
        return sum((line.price * line.qty for line in self.lines), Decimal("0"))

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * self.tax_rate).quantize(Decimal("0.01"))

    @property
    def grand_total(self) -> Decimal:
        return self.subtotal + self.tax + self.shipping - self.discount

    def items(self) -> list[dict[str, Any]]:
        """Commerce's item rows: a configurable line is a parent row plus a child row."""
        rows: list[dict[str, Any]] = []
        item_id = self.entity_id * 100
        for line in self.lines:
            item_id += 1
            options = [
                {"option_id": str(option_id), "option_value": value}
                for option_id, _, value in line.custom_options
            ]
            labelled = [
                {"label": label, "value": value, "print_value": value, "option_id": str(option_id)}
                for option_id, label, value in line.custom_options
            ]
            row: dict[str, Any] = {
                "item_id": str(item_id),
                "order_id": str(self.entity_id),
                "parent_item_id": None,
                "product_id": str(line.parent[0] if line.parent else line.product_id),
                "sku": line.sku,
                "name": line.parent[2] if line.parent else line.name,
                "product_type": "configurable"
                if line.parent
                else ("virtual" if line.virtual else "simple"),
                "is_virtual": "1" if line.virtual else "0",
                "qty_ordered": loose_decimal(line.qty),
                "price": loose_decimal(line.price),
                "price_incl_tax": loose_decimal(line.price * (1 + self.tax_rate)),
                "row_total": loose_decimal(line.price * line.qty),
                "discount_amount": "0.000000",
                "product_option": {"extension_attributes": {"custom_options": options}}
                if options
                else {},
                "product_options": {"options": labelled} if labelled else {},
            }
            rows.append(row)
            if line.parent:
                parent_row_id = item_id
                item_id += 1
                rows.append(
                    {
                        "item_id": str(item_id),
                        "order_id": str(self.entity_id),
                        "parent_item_id": str(parent_row_id),
                        "product_id": str(line.product_id),
                        "sku": line.sku,
                        "name": line.name,
                        "product_type": "simple",
                        "is_virtual": "0",
                        "qty_ordered": loose_decimal(line.qty),
                        "price": "0.000000",
                        "price_incl_tax": "0.000000",
                        "row_total": "0.000000",
                        "discount_amount": "0.000000",
                    }
                )
        return rows

    def address(self, kind: str) -> dict[str, Any]:
        return {
            "address_type": kind,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "street": "1 Loom Lane",
            "city": "Leeds",
            "postcode": "LS1 4AP",
            "country_id": "GB",
            "telephone": "0113 496 0000",
            "email": self.email,
        }

    def snapshot(self, *, state: str, status: str, at: datetime) -> dict[str, Any]:
        """The order save event's `data.value`: the full current state, loosely typed."""
        guest = self.customer_id is None
        shipped = state == "complete"
        items = self.items()
        if shipped:
            for row in items:
                row["qty_shipped"] = row["qty_ordered"]
        return {
            "entity_id": str(self.entity_id),
            "increment_id": self.increment_id,
            "state": state,
            "status": status,
            "customer_email": self.email,
            "customer_id": None if guest else str(self.customer_id),
            "customer_is_guest": "1" if guest else "0",
            "customer_firstname": self.firstname,
            "customer_lastname": self.lastname,
            "store_id": "1",
            "store_name": "Main Website\nMain Website Store\nDefault Store View",
            "quote_id": str(self.quote_id or self.entity_id + 500),
            "order_currency_code": self.currency,
            "base_currency_code": self.currency,
            "subtotal": loose_decimal(self.subtotal),
            "tax_amount": loose_decimal(self.tax),
            "shipping_amount": loose_decimal(self.shipping),
            "discount_amount": loose_decimal(-self.discount),
            "grand_total": loose_decimal(self.grand_total),
            "total_refunded": None,
            "coupon_code": self.coupon,
            "shipping_description": "Flat Rate - Fixed",
            "created_at": commerce_time(self.created_at),
            "updated_at": commerce_time(at),
            "items": items,
            "addresses": [self.address("billing"), self.address("shipping")],
            "payment": {"method": "checkmo", "amount_ordered": loose_decimal(self.grand_total)},
        }

    def shipment(self, *, shipment_id: int, at: datetime) -> dict[str, Any]:
        """A shipment of every item; the shipment event carries no email, only the order id."""
        rows = [row for row in self.items() if row["parent_item_id"] is None]
        return {
            "entity_id": str(shipment_id),
            "order_id": str(self.entity_id),
            "increment_id": f"S{self.increment_id}",
            "store_id": "1",
            "total_qty": loose_decimal(sum(line.qty for line in self.lines)),
            "items": [
                {"order_item_id": row["item_id"], "qty": row["qty_ordered"], "sku": row["sku"]}
                for row in rows
            ],
            "tracks": [{"track_number": f"TRK{shipment_id:08d}", "carrier_code": "ups"}],
            "created_at": commerce_time(at),
            "updated_at": commerce_time(at),
        }
