"""History read through REST, wrapped as the CloudEvents the live webhook would have carried."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from schemas.commerce.events import (
    CREDITMEMO_SAVED,
    CUSTOMER_SAVED,
    ORDER_SAVED,
    PRODUCT_SAVED,
    SHIPMENT_SAVED,
)

BACKFILL_SOURCE = "urn:cartwright:backfill"
# A CloudEvents extension attribute (lower-case letters only) that marks where an event came from.
ORIGIN_ATTRIBUTE = "cartwrightorigin"
_NAMESPACE = uuid.UUID("5b1f0a8e-3c1e-4d84-9a4c-6a1b2f0cb7e1")

# entity name → (REST search path, the observer event type its saves raise)
ENTITIES: dict[str, tuple[str, str]] = {
    "orders": ("/V1/orders", ORDER_SAVED),
    "shipments": ("/V1/shipments", SHIPMENT_SAVED),
    "creditmemos": ("/V1/creditmemos", CREDITMEMO_SAVED),
    "customers": ("/V1/customers/search", CUSTOMER_SAVED),
    "products": ("/V1/products", PRODUCT_SAVED),
}


def _event_time(item: dict[str, Any]) -> datetime:
    stamp = item.get("updated_at") or item.get("created_at")
    if isinstance(stamp, str):
        try:
            moment = datetime.fromisoformat(stamp.strip().replace(" ", "T"))
        except ValueError:
            moment = datetime.now(UTC)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


def backfill_event(entity: str, item: dict[str, Any], *, client_id: str) -> dict[str, Any]:
    """One REST row as a CloudEvent; its id is derived from the row's identity and `updated_at`,
    so reading the same version twice yields the same event."""
    _, event_type = ENTITIES[entity]
    identity = item.get("entity_id", item.get("id", item.get("sku")))
    version = item.get("updated_at") or item.get("created_at") or ""
    event_id = str(uuid.uuid5(_NAMESPACE, f"{entity}:{identity}:{version}"))
    at = _event_time(item)
    return {
        "specversion": "1.0",
        "id": event_id,
        "type": event_type,
        "source": BACKFILL_SOURCE,
        "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "eventid": event_id,
        "recipientclientid": client_id,
        ORIGIN_ATTRIBUTE: "backfill",
        "data": {"key": event_id, "value": item, "source": BACKFILL_SOURCE, "_metadata": {}},
    }
