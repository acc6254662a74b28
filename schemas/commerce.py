"""Inbound Adobe Commerce payloads (Adobe I/O CloudEvents and REST), read with loose wire types."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasPath,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from schemas.moments import as_utc

ORDER_SAVED = "com.adobe.commerce.observer.sales_order_save_commit_after"
SHIPMENT_SAVED = "com.adobe.commerce.observer.sales_order_shipment_save_commit_after"
CREDITMEMO_SAVED = "com.adobe.commerce.observer.sales_order_creditmemo_save_commit_after"
CUSTOMER_SAVED = "com.adobe.commerce.observer.customer_save_commit_after"
SUBSCRIBER_SAVED = "com.adobe.commerce.observer.newsletter_subscriber_save_commit_after"
QUOTE_SAVED = "com.adobe.commerce.observer.sales_quote_save_commit_after"
PRODUCT_SAVED = "com.adobe.commerce.observer.catalog_product_save_commit_after"


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _decimal_or_none(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _id_or_none(value: Any) -> Any:
    """Commerce writes "no id" as null, "", 0 or "0.0000"."""
    value = _blank_to_none(value)
    number = _decimal_or_none(value)
    return None if value is None or number == 0 else value


def _amount(value: Any) -> Any:
    """Money and quantities: absent means zero; floats go through str to keep what was written."""
    value = _blank_to_none(value)
    if value is None:
        return Decimal(0)
    return Decimal(repr(value)) if isinstance(value, float) else value


def _flag(value: Any) -> Any:
    """Booleans arrive as true, 1, "1", "0", "" or null; pydantic's lax bool reads the rest."""
    value = _blank_to_none(value)
    return False if value is None else value.strip() if isinstance(value, str) else value


def _no_zero_date(value: Any) -> Any:
    value = _blank_to_none(value)
    return None if isinstance(value, str) and value.startswith("0000-00-00") else value


def _as_utc(value: datetime | None) -> datetime | None:
    """Commerce dates carry no zone and are UTC; zoned ISO dates are converted to UTC."""
    return None if value is None else as_utc(value)


Id = Annotated[int, BeforeValidator(_blank_to_none)]
OptionalId = Annotated[int | None, BeforeValidator(_id_or_none)]
OptionalInt = Annotated[int | None, BeforeValidator(_blank_to_none)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Text = Annotated[str | None, BeforeValidator(_blank_to_none)]
Timestamp = Annotated[datetime | None, BeforeValidator(_no_zero_date), AfterValidator(_as_utc)]


class CommercePayload(BaseModel):
    """Base for inbound Commerce bodies: loose scalars, unknown fields ignored, immutable."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )


def _as_list(value: Any) -> Any:
    """PHP serialises an empty or id-keyed array as `[]`, `{}` or `{"12": {...}}`."""
    if value is None:
        return []
    return list(value.values()) if isinstance(value, dict) else value


class EventData(CommercePayload):
    """`data` of an Adobe I/O event: the entity in `value`, the store context in `_metadata`."""

    key: Text = None
    value: dict[str, Any] = Field(default_factory=dict)
    source: Text = None
    metadata: dict[str, Any] = Field(default_factory=dict, alias="_metadata")

    @field_validator("value", "metadata", mode="before")
    @classmethod
    def _empty_is_dict(cls, value: Any) -> Any:
        return {} if value is None or value == [] else value


class CloudEvent(CommercePayload):
    """The CloudEvents 1.0 envelope Adobe I/O delivers; `eventid` is the de-duplication key."""

    specversion: str = "1.0"
    id: str
    type: str
    source: Text = None
    time: Timestamp = None
    datacontenttype: Text = None
    eventid: str
    recipientclientid: Text = None
    data: EventData = Field(default_factory=EventData)

    @model_validator(mode="before")
    @classmethod
    def _fill_event_ids(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        eventid = data.get("eventid") or data.get("event_id") or data.get("id")
        return {**data, "eventid": eventid, "id": data.get("id") or eventid}


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
        lines = value.split("\n") if isinstance(value, str) else value
        return [str(line).strip() for line in lines if str(line).strip()]


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


def _custom_options(item: dict[str, Any]) -> list[dict[str, Any]]:
    """Merge the three places an item carries custom options, by option id."""
    product_options = item.get("product_options")
    if isinstance(product_options, str):
        try:
            product_options = json.loads(product_options)
        except ValueError:
            product_options = None
    rest = ((item.get("product_option") or {}).get("extension_attributes") or {}).get(
        "custom_options"
    )
    sources = (
        item.get("custom_options"),
        product_options.get("options") if isinstance(product_options, dict) else None,
        rest,
    )
    merged: dict[str, dict[str, Any]] = {}
    for source in sources:
        for option in _as_list(source):
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
    qty_ordered: Amount = Decimal(0)
    qty_shipped: Amount = Decimal(0)
    qty_refunded: Amount = Decimal(0)
    qty_canceled: Amount = Decimal(0)
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
        return {**data, "custom_options": _custom_options(data)}


def _rest_shipping(data: dict[str, Any]) -> dict[str, Any]:
    assignments = (data.get("extension_attributes") or {}).get("shipping_assignments") or []
    first = assignments[0] if isinstance(assignments, list) and assignments else {}
    shipping = first.get("shipping") if isinstance(first, dict) else None
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
    grand_total: Amount = Decimal(0)
    subtotal: Amount = Decimal(0)
    tax_amount: Amount = Decimal(0)
    discount_amount: Amount = Decimal(0)
    shipping_amount: Amount = Decimal(0)
    total_refunded: Amount = Decimal(0)
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
        data = {**data, "items": _as_list(data.get("items"))}
        for address in _as_list(data.get("addresses")):
            kind = address.get("address_type") if isinstance(address, dict) else None
            if kind in ("billing", "shipping") and not data.get(f"{kind}_address"):
                data[f"{kind}_address"] = address
        shipping = _rest_shipping(data)
        if not data.get("shipping_address") and shipping.get("address"):
            data["shipping_address"] = shipping["address"]
        if not data.get("shipping_method") and shipping.get("method"):
            data["shipping_method"] = shipping["method"]
        if data.get("customer_is_guest") is None:
            data["customer_is_guest"] = _id_or_none(data.get("customer_id")) is None
        return data


class CommerceShipmentItem(CommercePayload):
    """A shipped quantity of one order item (`order_item_id` may be a parent or a child row)."""

    order_item_id: Id
    qty: Amount = Decimal(0)
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
        return _as_list(value)


class CommerceCustomer(CommercePayload):
    """A customer as the customer-save event carries it; `orig_email` is set on email changes."""

    id: Id = Field(validation_alias=AliasChoices("id", "entity_id"))
    email: Text = None
    firstname: Text = None
    lastname: Text = None
    group_id: OptionalInt = None
    store_id: OptionalInt = None
    website_id: OptionalInt = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    orig_email: Text = Field(default=None, validation_alias=AliasPath("_origData", "email"))
    is_subscribed: Flag | None = Field(
        default=None, validation_alias=AliasPath("extension_attributes", "is_subscribed")
    )


class CommerceSubscriber(CommercePayload):
    """A newsletter subscriber as its save event carries it; guests have `customer_id` 0."""

    subscriber_id: OptionalId = None
    customer_id: OptionalId = None
    subscriber_email: Text = None
    subscriber_status: int
    change_status_at: Timestamp = None
    store_id: OptionalInt = None


_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    ORDER_SAVED: ("order", ("entity_id",)),
    SHIPMENT_SAVED: ("order", ("order_id",)),
    CREDITMEMO_SAVED: ("order", ("order_id",)),
    CUSTOMER_SAVED: ("customer", ("id", "entity_id")),
    QUOTE_SAVED: ("quote", ("entity_id", "id")),
    PRODUCT_SAVED: ("product", ("sku",)),
    SUBSCRIBER_SAVED: ("subscriber", ("subscriber_id", "id")),
}


def _key_id(value: Any) -> str | None:
    """`"3"`, `3` and `"3.000000"` are the same entity; anything else cannot key it."""
    number = _decimal_or_none(value)
    if number is None or number <= 0 or number != number.to_integral_value():
        return None
    return str(int(number))


def raw_key(event: CloudEvent) -> str:
    """The `commerce.raw.v1` key: an order and its shipments and credit memos share `order:<id>`."""
    prefix, fields = _KEYS.get(event.type, ("", ()))
    for name in fields:
        value = event.data.value.get(name)
        if prefix == "product":
            ident = str(value).strip() if value is not None else None
        else:
            ident = _key_id(value)
        if ident:
            return f"{prefix}:{ident}"
    return f"event:{event.eventid}"
