"""The Adobe I/O envelope of Commerce events: event types, the CloudEvent, and its raw-topic key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from schemas.commerce.payload import CommercePayload, Text, Timestamp, read_id

ORDER_SAVED = "com.adobe.commerce.observer.sales_order_save_commit_after"
SHIPMENT_SAVED = "com.adobe.commerce.observer.sales_order_shipment_save_commit_after"
CREDITMEMO_SAVED = "com.adobe.commerce.observer.sales_order_creditmemo_save_commit_after"
CUSTOMER_SAVED = "com.adobe.commerce.observer.customer_save_commit_after"
SUBSCRIBER_SAVED = "com.adobe.commerce.observer.newsletter_subscriber_save_commit_after"
QUOTE_SAVED = "com.adobe.commerce.observer.sales_quote_save_commit_after"
PRODUCT_SAVED = "com.adobe.commerce.observer.catalog_product_save_commit_after"


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


# Where an envelope may carry its de-duplication id, most current name first.
EVENT_ID_FIELDS = ("eventid", "event_id", "id")
# Adobe's ids are UUIDs; a longer id is not Adobe's, and would bloat keys and the id memory.
MAX_EVENT_ID = 256


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def event_id_of(envelope: Mapping[str, Any]) -> Any:
    """The envelope's de-duplication id as sent: `eventid`, else `event_id`, else `id` (blank
    counts as absent); None when it has none."""
    return next((envelope[name] for name in EVENT_ID_FIELDS if _present(envelope.get(name))), None)


def _event_id(value: str) -> str:
    if not value.strip():
        raise ValueError("an event id cannot be blank")
    return value


EventId = Annotated[str, Field(max_length=MAX_EVENT_ID), AfterValidator(_event_id)]


class CloudEvent(CommercePayload):
    """The CloudEvents 1.0 envelope Adobe I/O delivers; `eventid` is the de-duplication key."""

    specversion: str = "1.0"
    id: str
    type: str
    source: Text = None
    time: Timestamp = None
    datacontenttype: Text = None
    eventid: EventId
    # Adobe sends the recipient under both spellings; either may be missing.
    recipientclientid: Text = None
    recipient_client_id: Text = None
    data: EventData = Field(default_factory=EventData)

    @model_validator(mode="before")
    @classmethod
    def _fill_event_ids(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        eventid = event_id_of(data)
        return {**data, "eventid": eventid, "id": data.get("id") or eventid}

    @property
    def recipients(self) -> set[str]:
        """The client ids the event names as its recipient, under either spelling."""
        named = (self.recipientclientid, self.recipient_client_id)
        return {recipient for recipient in named if recipient is not None}


MAX_SKU = 64
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
    """`"3"`, `3` and `"3.000000"` are the same entity; anything else (no whole number from 1 to
    Commerce's largest id: NaN, Infinity, 1e999999999, 30 digits) cannot key it."""
    ident = read_id(value)
    return None if ident is None else str(ident)


def _key_sku(value: Any) -> str | None:
    """A sku is text of at most 64 characters (Commerce's column); anything else cannot key it."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    sku = str(value).strip() if isinstance(value, str) or value.bit_length() < 200 else ""
    return sku if 0 < len(sku) <= MAX_SKU else None


def raw_key(event: CloudEvent) -> str:
    """The `commerce.raw.v1` key: an order and its shipments and credit memos share `order:<id>`."""
    prefix, fields = _KEYS.get(event.type, ("", ()))
    for name in fields:
        value = event.data.value.get(name)
        if prefix == "product":
            ident = _key_sku(value)
        else:
            ident = _key_id(value)
        if ident:
            return f"{prefix}:{ident}"
    return f"event:{event.eventid}"
