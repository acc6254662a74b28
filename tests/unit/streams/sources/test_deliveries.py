"""Reading webhook deliveries into raw-topic envelopes, keyed and de-duplicable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.events import ORDER_SAVED, SHIPMENT_SAVED, envelope
from schemas.contract.incidents import Reason
from streams.sources.deliveries import MAX_EVENT_BYTES, Window, read_delivery

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


def test_missing_recipient_is_counted_and_not_published() -> None:
    event = order_event(3)
    del event["recipientclientid"]

    delivery = read_delivery(orjson.dumps(event), CLIENT_ID)

    assert delivery.events == []
    assert delivery.missing_recipients == 1
    assert delivery.unreadable == []


def test_blank_recipient_counts_as_missing() -> None:
    delivery = read_delivery(orjson.dumps(order_event(3, recipientclientid="  ")), CLIENT_ID)

    assert delivery.events == []
    assert delivery.missing_recipients == 1


def test_snake_case_recipient_is_read_too() -> None:
    ours = {**order_event(1), "recipient_client_id": CLIENT_ID}
    del ours["recipientclientid"]
    theirs = {**order_event(2), "recipient_client_id": "someone-else"}
    del theirs["recipientclientid"]

    delivery = read_delivery(orjson.dumps([ours, theirs]), CLIENT_ID)

    assert [e.key for e in delivery.events] == ["order:1"]
    assert delivery.foreign_recipients == {"someone-else"}


def test_two_spellings_that_disagree_are_foreign() -> None:
    event = order_event(4, recipient_client_id="someone-else")

    delivery = read_delivery(orjson.dumps(event), CLIENT_ID)

    assert delivery.events == []
    assert delivery.foreign_recipients == {"someone-else"}


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


def test_array_items_keep_their_exact_bytes() -> None:
    first = orjson.dumps(order_event(1), option=orjson.OPT_INDENT_2)
    second = orjson.dumps(order_event(2), option=orjson.OPT_SORT_KEYS)
    body = b"  [\n" + first + b" ,\t" + second + b"\n]\n"

    delivery = read_delivery(body, CLIENT_ID)

    assert [e.value for e in delivery.events] == [first, second]


def test_empty_array_holds_nothing() -> None:
    delivery = read_delivery(b" [ ] ", CLIENT_ID, max_events=1)

    assert delivery == read_delivery(b"[]", CLIENT_ID)
    assert delivery.events == [] and delivery.unreadable == [] and delivery.refused is None


def test_array_of_exactly_max_events_is_read() -> None:
    events = [order_event(n) for n in range(1, 4)]

    delivery = read_delivery(orjson.dumps(events), CLIENT_ID, max_events=3)

    assert delivery.refused is None
    assert len(delivery.events) == 3


def test_array_over_max_events_is_refused_whole_with_its_body() -> None:
    body = orjson.dumps([order_event(n) for n in range(1, 5)])

    delivery = read_delivery(body, CLIENT_ID, max_events=3)

    assert delivery.refused is not None
    assert delivery.refused.reason is Reason.DELIVERY_TOO_LARGE
    assert delivery.refused.value == body
    assert delivery.events == [] and delivery.unreadable == []


def test_a_huge_array_of_tiny_items_is_refused_without_reading_it_all() -> None:
    # 1.4 M items in 4.2 MB: counted only up to one past the limit, nothing built or re-encoded.
    body = b"[" + b",".join([b"{}"] * 1_400_000) + b"]"

    delivery = read_delivery(body, CLIENT_ID, max_events=500)

    assert delivery.refused is not None
    assert delivery.refused.reason is Reason.DELIVERY_TOO_LARGE


def test_malformed_array_is_malformed_json_as_a_whole() -> None:
    for body in (b"[1,", b"[1 2]", b"[] []", b"[" * 100_000):
        delivery = read_delivery(body, CLIENT_ID, max_events=500)

        [unreadable] = delivery.unreadable
        assert unreadable.reason is Reason.MALFORMED_JSON, body[:10]
        assert unreadable.value == body


def test_an_item_orjson_cannot_read_is_dead_lettered_by_name_and_the_rest_still_go() -> None:
    good = orjson.dumps(order_event(5))
    body = b"[" + good + b', {"id": NaN}, [1e5000]]'

    delivery = read_delivery(body, CLIENT_ID)

    assert [e.key for e in delivery.events] == ["order:5"]
    # NaN is no JSON; 1e5000 is JSON past what a double holds.
    assert [u.reason for u in delivery.unreadable] == [
        Reason.MALFORMED_JSON,
        Reason.NUMBER_OUT_OF_RANGE,
    ]
    assert [u.value for u in delivery.unreadable] == [b'{"id": NaN}', b"[1e5000]"]


def test_oversized_event_is_payload_too_large() -> None:
    event = order_event(6)
    event["data"]["value"]["padding"] = "x" * MAX_EVENT_BYTES

    delivery = read_delivery(orjson.dumps([event]), CLIENT_ID)

    assert [u.reason for u in delivery.unreadable] == [Reason.PAYLOAD_TOO_LARGE]


def test_blank_event_ids_are_invalid_envelopes() -> None:
    blank = order_event(7, id="", eventid="", event_id="  ")
    spaces = order_event(8, id=" ", eventid=" ", event_id=" ")

    delivery = read_delivery(orjson.dumps([blank, spaces]), CLIENT_ID)

    assert delivery.events == []
    assert [u.reason for u in delivery.unreadable] == [Reason.INVALID_ENVELOPE] * 2


def test_a_blank_eventid_falls_back_to_event_id() -> None:
    event = order_event(9, eventid=" ", event_id="evt-9")

    delivery = read_delivery(orjson.dumps(event), CLIENT_ID)

    assert [e.event_id for e in delivery.events] == ["evt-9"]


def test_an_event_id_longer_than_any_adobe_id_is_invalid() -> None:
    event = order_event(10, eventid="e" * 257)

    delivery = read_delivery(orjson.dumps(event), CLIENT_ID)

    assert [u.reason for u in delivery.unreadable] == [Reason.INVALID_ENVELOPE]


def window(now: datetime = AT) -> Window:
    return Window(timedelta(days=7), timedelta(hours=1), now=lambda: now)


def test_events_inside_the_window_are_kept() -> None:
    events = [
        order_event(1, time="2026-02-22T09:30:01Z"),  # just under 7 days old
        order_event(2, time="2026-03-01T10:29:59Z"),  # just under 1 h ahead
        order_event(3),
    ]
    del events[2]["time"]  # no time: nothing to judge

    delivery = read_delivery(orjson.dumps(events), CLIENT_ID, window=window())

    assert [e.key for e in delivery.events] == ["order:1", "order:2", "order:3"]


def test_events_outside_the_window_are_dead_lettered_by_name() -> None:
    old = order_event(1, time="2026-02-22T09:29:59Z")
    ahead = order_event(2, time="2026-03-01T10:30:01Z")
    far = order_event(3, time="9999-12-31T23:59:59Z")

    delivery = read_delivery(orjson.dumps([old, ahead, far]), CLIENT_ID, window=window())

    assert delivery.events == []
    assert [u.reason for u in delivery.unreadable] == [Reason.EVENT_OUT_OF_WINDOW] * 3
    assert "before" in delivery.unreadable[0].detail
    assert "after" in delivery.unreadable[1].detail


def test_an_unreadable_time_is_an_invalid_envelope() -> None:
    event = order_event(1, time="yesterday-ish")

    delivery = read_delivery(orjson.dumps(event), CLIENT_ID, window=window())

    assert [u.reason for u in delivery.unreadable] == [Reason.INVALID_ENVELOPE]


def test_numbers_that_cannot_key_an_event_fall_back_to_its_id() -> None:
    events = [order_event(1, eventid=f"evt-{n}") for n in range(5)]
    for event, entity_id in zip(
        events,
        ["NaN", "Infinity", "-Infinity", "1e5000", "123456789012345678901234567890"],
        strict=True,
    ):
        event["data"]["value"]["entity_id"] = entity_id

    delivery = read_delivery(orjson.dumps(events), CLIENT_ID)

    assert delivery.unreadable == []
    assert [e.event_id for e in delivery.events] == [f"evt-{n}" for n in range(5)]
    keys = [e.key for e in delivery.events]
    assert keys[:4] == [f"event:evt-{n}" for n in range(4)]
    assert keys[4] == "event:evt-4"


def test_giant_and_numeric_event_ids_are_read_as_text() -> None:
    body = b'{"type": "t", "eventid": 123456789012345678901234567890, "recipientclientid": "%s"}'

    delivery = read_delivery(body % CLIENT_ID.encode(), CLIENT_ID)

    [incoming] = delivery.events
    assert incoming.event_id == "1.2345678901234568e+29"
