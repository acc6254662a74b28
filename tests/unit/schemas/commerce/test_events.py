"""The Adobe I/O envelope: event ids, metadata, UTC times, and the raw-topic key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.commerce.events import (
    CREDITMEMO_SAVED,
    CUSTOMER_SAVED,
    ORDER_SAVED,
    PRODUCT_SAVED,
    QUOTE_SAVED,
    SHIPMENT_SAVED,
    SUBSCRIBER_SAVED,
    CloudEvent,
    raw_key,
)

LoadEvent = Callable[[str], CloudEvent]


INVOICE_SAVED = "com.adobe.commerce.observer.sales_order_invoice_save_commit_after"


def _event(type_: str, value: dict[str, Any], **envelope: Any) -> CloudEvent:
    return CloudEvent.model_validate(
        {"id": "id-1", "eventid": "ev-1", "type": type_, "data": {"value": value}, **envelope}
    )


def test_envelope_keeps_event_ids_metadata_and_utc_time(commerce_event: LoadEvent) -> None:
    event = commerce_event("guest_order")

    assert event.type == ORDER_SAVED
    assert event.eventid == "7d5f0c7a-3c1e-4b8a-9f2d-6e4b1a0c9d11"
    assert event.time == datetime(2026, 11, 26, 10, 15, 4, 123000, tzinfo=UTC)
    assert event.data.metadata["commerceVersion"] == "2.4.8"
    assert event.model_dump(by_alias=True)["data"]["_metadata"]["storeId"] == "1"


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ({"id": "a", "eventid": "b", "event_id": "c"}, "b"),
        ({"id": "a", "event_id": "c"}, "c"),
        ({"id": "a"}, "a"),
    ],
)
def test_eventid_falls_back_to_event_id_then_id(ids: dict[str, str], expected: str) -> None:
    event = CloudEvent.model_validate({"type": ORDER_SAVED, **ids})
    assert event.eventid == expected


def test_envelope_without_any_id_is_rejected() -> None:
    with pytest.raises(ValidationError):
        CloudEvent.model_validate({"type": ORDER_SAVED, "data": {"value": {}}})


def test_empty_php_arrays_read_as_empty_objects(commerce_event: LoadEvent) -> None:
    event = commerce_event("guest_order_shipment_all")
    assert event.data.metadata == {}


def test_order_and_its_shipments_and_credit_memos_share_a_raw_key(
    commerce_event: LoadEvent,
) -> None:
    keys = {
        raw_key(commerce_event(name))
        for name in (
            "guest_order",
            "guest_order_shipment_partial",
            "guest_order_shipment_all",
            "guest_order_creditmemo",
        )
    }
    assert keys == {"order:3"}


@pytest.mark.parametrize(
    ("type_", "value", "key"),
    [
        (ORDER_SAVED, {"entity_id": "3.000000"}, "order:3"),
        (SHIPMENT_SAVED, {"entity_id": "9", "order_id": 3}, "order:3"),
        (CREDITMEMO_SAVED, {"entity_id": "2", "order_id": "3"}, "order:3"),
        (CUSTOMER_SAVED, {"id": "7"}, "customer:7"),
        (CUSTOMER_SAVED, {"entity_id": 7}, "customer:7"),
        (QUOTE_SAVED, {"entity_id": "41"}, "quote:41"),
        (PRODUCT_SAVED, {"entity_id": "1", "sku": "24-MB01"}, "product:24-MB01"),
        (SUBSCRIBER_SAVED, {"subscriber_id": "12", "customer_id": "0"}, "subscriber:12"),
        (ORDER_SAVED, {"increment_id": "000000003"}, "event:ev-1"),
        (ORDER_SAVED, {"entity_id": "not-a-number"}, "event:ev-1"),
        (
            "com.adobe.commerce.observer.sales_invoice_save_commit_after",
            {"order_id": 3},
            "event:ev-1",
        ),
    ],
)
def test_raw_key_by_event_type(type_: str, value: dict[str, Any], key: str) -> None:
    assert raw_key(_event(type_, value)) == key
