"""Reading webhook deliveries into raw-topic envelopes, keyed and de-duplicable."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.events import ORDER_SAVED, SHIPMENT_SAVED, envelope
from schemas.contract.incidents import Reason
from streams.sources.deliveries import read_delivery

CLIENT_ID = "cartwright-client"
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def order(entity_id: int = 42) -> Order:
    return Order(
        entity_id=entity_id,
        increment_id=f"0000000{entity_id}",
        email="ada@example.com",
        firstname="Ada",
        lastname="Lovelace",
        lines=[Line(sku="LOOM-1", name="Loom", product_id=7, qty=1, price=Decimal("20"))],
        created_at=AT,
    )


def order_event(entity_id: int = 42, **overrides: Any) -> dict[str, Any]:
    snapshot = order(entity_id).snapshot(state="new", status="pending", at=AT)
    event = envelope(ORDER_SAVED, snapshot, client_id=CLIENT_ID, at=AT)
    return {**event, **overrides}


def test_single_object_keeps_its_exact_bytes_and_is_keyed_by_order() -> None:
    event = order_event(42)
    # Odd spacing and key order must survive: the raw topic holds what Adobe sent.
    body = orjson.dumps(event, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    delivery = read_delivery(body, CLIENT_ID)

    assert delivery.unreadable == []
    assert delivery.foreign_recipients == set()
    [incoming] = delivery.events
    assert incoming.value == body
    assert incoming.key == "order:42"
    assert incoming.event_id == event["eventid"]
    assert incoming.event_type == ORDER_SAVED


def test_json_array_yields_each_event_in_order() -> None:
    events = [order_event(1), order_event(2), order_event(3)]

    delivery = read_delivery(orjson.dumps(events), CLIENT_ID)

    assert [e.key for e in delivery.events] == ["order:1", "order:2", "order:3"]
    assert [e.event_id for e in delivery.events] == [e["eventid"] for e in events]
    assert [orjson.loads(e.value) for e in delivery.events] == events


def test_malformed_json_is_unreadable_with_its_bytes() -> None:
    body = b'{"id": "evt-1", "type": '

    delivery = read_delivery(body, CLIENT_ID)

    assert delivery.events == []
    [unreadable] = delivery.unreadable
    assert unreadable.reason is Reason.MALFORMED_JSON
    assert unreadable.value == body


def test_non_object_item_is_an_invalid_envelope_and_the_rest_still_go() -> None:
    good = order_event(5)

    delivery = read_delivery(orjson.dumps([good, 17, "text"]), CLIENT_ID)

    assert [e.key for e in delivery.events] == ["order:5"]
    assert [u.reason for u in delivery.unreadable] == [Reason.INVALID_ENVELOPE] * 2
    assert [u.value for u in delivery.unreadable] == [b"17", b'"text"']


def test_scalar_body_is_an_invalid_envelope() -> None:
    delivery = read_delivery(b"42", CLIENT_ID)

    assert delivery.events == []
    assert [u.reason for u in delivery.unreadable] == [Reason.INVALID_ENVELOPE]


def test_envelope_without_type_is_invalid_and_names_the_field() -> None:
    event = order_event()
    del event["type"]
    body = orjson.dumps(event)

    delivery = read_delivery(body, CLIENT_ID)

    assert delivery.events == []
    [unreadable] = delivery.unreadable
    assert unreadable.reason is Reason.INVALID_ENVELOPE
    assert "type" in unreadable.detail
    assert unreadable.value == body


def test_envelope_without_any_id_is_invalid() -> None:
    event = order_event()
    for name in ("id", "eventid", "event_id"):
        del event[name]

    delivery = read_delivery(orjson.dumps(event), CLIENT_ID)

    assert delivery.events == []
    assert [u.reason for u in delivery.unreadable] == [Reason.INVALID_ENVELOPE]


def test_foreign_recipient_is_reported_and_not_published() -> None:
    ours = order_event(1)
    theirs = order_event(2, recipientclientid="someone-else")

    delivery = read_delivery(orjson.dumps([ours, theirs]), CLIENT_ID)

    assert [e.key for e in delivery.events] == ["order:1"]
    assert delivery.foreign_recipients == {"someone-else"}
    assert delivery.unreadable == []


def test_missing_recipient_is_accepted() -> None:
    event = order_event(3)
    del event["recipientclientid"]

    delivery = read_delivery(orjson.dumps(event), CLIENT_ID)

    assert [e.key for e in delivery.events] == ["order:3"]


def test_event_id_is_used_when_eventid_is_missing() -> None:
    event = order_event(event_id="evt-from-underscore", id="evt-from-id")
    del event["eventid"]

    delivery = read_delivery(orjson.dumps(event), CLIENT_ID)

    assert [e.event_id for e in delivery.events] == ["evt-from-underscore"]


def test_id_is_used_when_both_event_ids_are_missing() -> None:
    event = order_event(id="evt-from-id")
    del event["eventid"]
    del event["event_id"]

    delivery = read_delivery(orjson.dumps(event), CLIENT_ID)

    assert [e.event_id for e in delivery.events] == ["evt-from-id"]


def test_shipment_is_keyed_by_its_order() -> None:
    shipment = order(42).shipment(shipment_id=9001, at=AT)
    event = envelope(SHIPMENT_SAVED, shipment, client_id=CLIENT_ID, at=AT)

    delivery = read_delivery(orjson.dumps(event), CLIENT_ID)

    [incoming] = delivery.events
    assert incoming.key == "order:42"
    assert incoming.event_type == SHIPMENT_SAVED


def test_order_and_its_shipment_share_a_key() -> None:
    placed = order_event(42)
    shipped = envelope(
        SHIPMENT_SAVED, order(42).shipment(shipment_id=7, at=AT), client_id=CLIENT_ID, at=AT
    )

    delivery = read_delivery(orjson.dumps([placed, shipped]), CLIENT_ID)

    assert {e.key for e in delivery.events} == {"order:42"}
