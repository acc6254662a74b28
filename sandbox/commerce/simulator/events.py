"""Adobe I/O CloudEvents as Adobe Commerce emits them: the event types and the envelope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CREDITMEMO_SAVED",
    "CUSTOMER_SAVED",
    "ORDER_SAVED",
    "PRODUCT_SAVED",
    "QUOTE_SAVED",
    "SHIPMENT_SAVED",
    "SUBSCRIBER_SAVED",
    "envelope",
]

EVENT_PREFIX = "com.adobe.commerce.observer."
ORDER_SAVED = EVENT_PREFIX + "sales_order_save_commit_after"
SHIPMENT_SAVED = EVENT_PREFIX + "sales_order_shipment_save_commit_after"
CREDITMEMO_SAVED = EVENT_PREFIX + "sales_order_creditmemo_save_commit_after"
CUSTOMER_SAVED = EVENT_PREFIX + "customer_save_commit_after"
SUBSCRIBER_SAVED = EVENT_PREFIX + "newsletter_subscriber_save_commit_after"
QUOTE_SAVED = EVENT_PREFIX + "sales_quote_save_commit_after"
PRODUCT_SAVED = EVENT_PREFIX + "catalog_product_save_commit_after"

PROVIDER = "urn:uuid:7f3c1a52-cartwright-sandbox"


def envelope(
    event_type: str,
    value: dict[str, Any],
    *,
    client_id: str,
    at: datetime,
    event_id: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """A CloudEvents 1.0 envelope around one Commerce entity snapshot (random ids unless given)."""
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
            "key": key or str(uuid.uuid4()),
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


def with_new_id(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The same event re-published under another id (what an ambiguous failure leads to)."""
    return {**event, "id": event_id, "eventid": event_id, "event_id": event_id}
