"""Commerce orders and shipments as their save events (or REST) carry them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from pydantic import Field, field_validator, model_validator

from schemas.commerce.payload import (
    Amount,
    CommercePayload,
    Flag,
    Id,
    OptionalId,
    OptionalInt,
    Quantity,
    Text,
    Timestamp,
    Total,
    as_list,
    entries,
    member,
    read_id,
)


class CommerceAddress(CommercePayload):
    """An order address; `street` is one entry per line."""

    address_type: Text = None
    firstname: Text = None
    lastname: Text = None
    company: Text = None
    street: list[str] = Field(default_factory=list)
    city: Text = None
    region: Text = None
    region_code: Text = None
    postcode: Text = None
    country_id: Text = None
    telephone: Text = None
    email: Text = None

    @field_validator("street", mode="before")
    @classmethod
    def _split_street(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, str | list):
            return value  # pydantic names the wrong type
        lines = value.split("\n") if isinstance(value, str) else value
        return [line.strip() for line in map(_street_line, lines) if line.strip()]


class CommercePayment(CommercePayload):
    """The order payment; the method title sits in `additional_information` when present."""

    method: Text = None
    method_title: Text = None
    additional_information: Any = None

    @property
    def title(self) -> str | None:
        info = self.additional_information
        if self.method_title:
            return self.method_title
        if isinstance(info, dict) and isinstance(info.get("method_title"), str):
            return str(info["method_title"])
        if isinstance(info, list) and info and isinstance(info[0], str):
            return info[0]
        return None


class CommerceCustomOption(CommercePayload):
    """A product custom option on an order line: raw `option_value`, title and shown value."""

    option_id: str
    option_value: str = ""  # free text, or option value id(s), comma-joined, for selects
    label: Text = None  # the option's title, when Commerce sent it
    value: Text = None  # the value as the shopper saw it, when Commerce sent it

    @field_validator("option_value", mode="before")
    @classmethod
    def _joined(cls, value: Any) -> Any:
        if value is None:
            return ""
        return ",".join(str(v) for v in value) if isinstance(value, list) else value


def _street_line(line: Any) -> str:
    return line if isinstance(line, str) else str(line) if isinstance(line, int | float) else ""


def gather_custom_options(item: dict[str, Any]) -> list[dict[str, Any]]:
    """Merge the three places an item carries custom options, by option id."""
    product_options = item.get("product_options")
    if isinstance(product_options, str):
        try:
            # orjson: bounded nesting, no NaN or Infinity, and its errors are ValueErrors.
            product_options = orjson.loads(product_options)
        except orjson.JSONDecodeError:
            product_options = None
    rest = member(member(item.get("product_option"), "extension_attributes"), "custom_options")
    sources = (item.get("custom_options"), member(product_options, "options"), rest)
    merged: dict[str, dict[str, Any]] = {}
    for source in sources:
        for option in entries(source):
            if isinstance(option, dict) and option.get("option_id") is not None:
                known = merged.setdefault(str(option["option_id"]), {})
                for name, value in option.items():
                    if known.get(name) in (None, ""):
                        known[name] = value
    return list(merged.values())


class CommerceOrderItem(CommercePayload):
    """One row of `items[]`: parents (configurable, bundle) and their children are all rows."""

    item_id: Id
    parent_item_id: OptionalId = None
    product_id: OptionalId = None
    sku: str = ""
    name: str = ""
    product_type: str = "simple"
    qty_ordered: Quantity = Decimal(0)
    qty_shipped: Quantity = Decimal(0)
    qty_refunded: Quantity = Decimal(0)
    qty_canceled: Quantity = Decimal(0)
    price: Amount = Decimal(0)
    price_incl_tax: Amount = Decimal(0)
    row_total: Amount = Decimal(0)
    discount_amount: Amount = Decimal(0)
    is_virtual: Flag = False
    custom_options: list[CommerceCustomOption] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _gather_custom_options(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**data, "custom_options": gather_custom_options(data)}


def _rest_shipping(data: dict[str, Any]) -> dict[str, Any]:
    assignments = entries(member(data.get("extension_attributes"), "shipping_assignments"))
    shipping = member(assignments[0], "shipping") if assignments else None
    return shipping if isinstance(shipping, dict) else {}


class CommerceOrder(CommercePayload):
    """An order as the order-save event (or `GET /V1/orders`) carries it: full current state."""

    entity_id: Id
    increment_id: str
    state: Text = None
    status: Text = None
    customer_email: Text = None
    customer_id: OptionalId = None
    customer_is_guest: Flag = False
    customer_firstname: Text = None
    customer_lastname: Text = None
    store_id: OptionalInt = None
    store_name: Text = None
    quote_id: OptionalId = None
    order_currency_code: Text = None
    grand_total: Total = Decimal(0)
    subtotal: Total = Decimal(0)
    tax_amount: Amount = Decimal(0)
    discount_amount: Amount = Decimal(0)  # negative in Commerce
    shipping_amount: Amount = Decimal(0)
    total_paid: Total = Decimal(0)
    total_refunded: Total = Decimal(0)
    shipping_description: Text = None
    shipping_method: Text = None
    coupon_code: Text = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    items: list[CommerceOrderItem] = Field(default_factory=list)
    billing_address: CommerceAddress | None = None
    shipping_address: CommerceAddress | None = None
    payment: CommercePayment | None = None
    relation_parent_id: OptionalId = None
    original_increment_id: Text = None

    @model_validator(mode="before")
    @classmethod
    def _gather(cls, data: Any) -> Any:
        """Find addresses and shipping method wherever this payload shape keeps them."""
        if not isinstance(data, dict):
            return data
        data = {**data, "items": as_list(data.get("items"))}
        for address in entries(data.get("addresses")):
            kind = address.get("address_type") if isinstance(address, dict) else None
            if kind in ("billing", "shipping") and not data.get(f"{kind}_address"):
                data[f"{kind}_address"] = address
        shipping = _rest_shipping(data)
        if not data.get("shipping_address") and shipping.get("address"):
            data["shipping_address"] = shipping["address"]
        if not data.get("shipping_method") and shipping.get("method"):
            data["shipping_method"] = shipping["method"]
        if data.get("customer_is_guest") is None:
            data["customer_is_guest"] = read_id(data.get("customer_id")) is None
        return data


class CommerceShipmentItem(CommercePayload):
    """A shipped quantity of one order item (`order_item_id` may be a parent or a child row)."""

    order_item_id: Id
    qty: Quantity = Decimal(0)
    sku: Text = None


class CommerceTrack(CommercePayload):
    """A tracking number on a shipment; it may arrive in a later save of the shipment."""

    track_number: Text = None
    carrier_code: Text = None
    title: Text = None


class CommerceShipment(CommercePayload):
    """A shipment as the shipment-save event carries it."""

    entity_id: OptionalId = None
    order_id: Id
    increment_id: Text = None
    items: list[CommerceShipmentItem] = Field(default_factory=list)
    tracks: list[CommerceTrack] = Field(default_factory=list)
    created_at: Timestamp = None
    updated_at: Timestamp = None

    @field_validator("items", "tracks", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return as_list(value)
