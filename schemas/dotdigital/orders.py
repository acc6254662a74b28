"""Normalized `OrderUpdated` → the contact-scoped `Orders` insight record Dotdigital keeps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from schemas.contract.normalized import Address, NormalizedLine, OrderUpdated
from schemas.dotdigital.amounts import money, quantity
from schemas.dotdigital.bodies import ContactIdentity, InsightRecord, compact

ORDERS_COLLECTION = "Orders"

_INVALID_KEY_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def json_key(label: str | None, option_id: str) -> str:
    """A label made into a Dotdigital JSON key (`[A-Za-z0-9_-]`), or `option_<id>` without one."""
    key = _INVALID_KEY_CHARS.sub("_", (label or "").strip())
    return key if key.strip("_") else _INVALID_KEY_CHARS.sub("_", f"option_{option_id}")


def _record_address(address: Address | None, prefix: str) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        f"{prefix}_address_1": address.street[0] if address.street else "",
        f"{prefix}_address_2": ", ".join(address.street[1:]),
        f"{prefix}_city": address.city or "",
        f"{prefix}_region": address.region or "",
        f"{prefix}_country": address.country or "",
        f"{prefix}_postcode": address.postcode or "",
    }


def _product(
    line: NormalizedLine, attributes: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, Any]:
    product = compact(
        {
            "product_id": line.product_id,
            "parent_id": line.parent_product_id,
            "name": line.name,
            "sku": line.sku,
            "qty": quantity(line.qty),
            "price": money(line.price),
            "price_inc_tax": money(line.price_incl_tax),
            "row_total": money(line.row_total),
            "type": line.product_type,
            "qty_shipped": quantity(line.qty_shipped),
        }
    )
    if line.custom_options:
        product["custom-options"] = [
            {json_key(option.label, option.option_id): option.value}
            for option in line.custom_options
        ]
        product["custom_options_detail"] = [
            option.model_dump(exclude_none=True) for option in line.custom_options
        ]
    labels = (attributes or {}).get(line.sku)
    if labels:
        product["product_attributes"] = {
            json_key(code, code): value for code, value in labels.items()
        }
    if line.children:
        product["sub_items"] = [_product(child, attributes) for child in line.children]
    return product


def orders_record(
    order: OrderUpdated, attributes: Mapping[str, Mapping[str, str]] | None = None
) -> InsightRecord:
    """The contact-scoped `Orders` insight record, in the official Commerce extension's names;
    `attributes` (sku → attribute code → label) are copied onto the lines as `product_attributes`."""
    document = compact(
        {
            "id": order.increment_id,
            "email": order.email,
            "quoteId": order.quote_id,
            "storeName": order.store_name,
            "purchaseDate": _wire_time(order.placed_at),
            "deliveryAddress": _record_address(order.delivery_address, "delivery"),
            "billingAddress": _record_address(order.billing_address, "billing"),
            "products": [_product(line, attributes) for line in order.lines],
            "orderSubtotal": money(order.subtotal),
            "discountAmount": money(order.discount_amount),
            "orderTotal": money(order.grand_total),
            "payment": order.payment_title or order.payment_method,
            "deliveryMethod": order.shipping_description or order.shipping_method,
            "deliveryTotal": money(order.shipping_amount),
            "currency": order.currency,
            "couponCode": order.coupon_code,
            "orderStatus": order.status,
            "orderState": order.state,
            "fulfilled": order.fulfilled,
            "refundedAmount": money(order.total_refunded),
            "netTotal": money(order.net_total),
            # An order edit cancels the original and places a new order linked to it.
            "originalOrderId": order.original_increment_id,
        }
    )
    return InsightRecord(
        key=order.increment_id,
        contact_identity=ContactIdentity(value=order.email),
        json_=document,
    )


def _wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
