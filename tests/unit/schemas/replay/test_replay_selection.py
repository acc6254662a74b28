"""Which records a window replay puts back: by event time, type, id and email; never a replayed
copy; on the raw topic each entity's last record only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from sandbox.commerce.simulator.events import (
    CUSTOMER_SAVED,
    ORDER_SAVED,
    SHIPMENT_SAVED,
    envelope,
)
from schemas.contract.replay import REPLAY_HEADER
from schemas.contract.topics import ORDERS, RAW, REFUNDS
from schemas.replay.selection import (
    Picked,
    Selection,
    in_partitions,
    last_of_each,
    pick,
)
from schemas.replay.window import Window

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=8)
INSIDE = START + timedelta(hours=1)
WINDOW = Selection(window=Window(START, END))


def order(at: datetime = INSIDE, **changes: Any) -> bytes:
    value = {
        "entity_id": "12",
        "increment_id": "000000042",
        "customer_email": "ada@example.com",
        "customer_id": "7",
        **changes,
    }
    return orjson.dumps(envelope(ORDER_SAVED, value, client_id="cartwright", at=at))


def shipment(at: datetime = INSIDE) -> bytes:
    value = {"entity_id": "900", "order_id": "12", "increment_id": "000000900"}
    return orjson.dumps(envelope(SHIPMENT_SAVED, value, client_id="cartwright", at=at))


def customer(at: datetime = INSIDE) -> bytes:
    value = {"id": "7", "email": "ada@example.com", "firstname": "Ada"}
    return orjson.dumps(envelope(CUSTOMER_SAVED, value, client_id="cartwright", at=at))


def raw(
    selection: Selection,
    value: bytes | None,
    *,
    key: bytes | None = b"order:12",
    partition: int = 0,
    offset: int = 0,
    headers: Any = (),
) -> Picked | None:
    return pick(selection, partition, offset, key, value, headers)


def test_a_raw_record_is_picked_when_its_event_time_is_in_the_window() -> None:
    picked = raw(WINDOW, order(), partition=2, offset=17)

    assert picked is not None
    assert (picked.partition, picked.offset, picked.key) == (2, 17, b"order:12")
    assert picked.event_type == "order"
    assert picked.moment == INSIDE
    assert picked.email == "ada@example.com"
    assert {"000000042", "12", "order:12", "7"} <= picked.ids


def test_records_outside_the_window_or_without_an_event_time_are_left() -> None:
    assert raw(WINDOW, order(START)) is not None
    assert raw(WINDOW, order(END)) is None
    assert raw(WINDOW, order(START - timedelta(seconds=1))) is None
    untimed = orjson.loads(order())
    del untimed["time"]
    assert raw(WINDOW, orjson.dumps(untimed)) is None
    assert raw(Selection(), orjson.dumps(untimed)) is None  # not even with no window at all
    assert raw(WINDOW, b"not json") is None
    assert raw(WINDOW, None) is None  # a tombstone


def test_a_replayed_copy_is_never_picked_again() -> None:
    # The replay puts its records back on the topic it read; a second replay of the same window
    # must not find them and put them back a second time.
    copy = [(REPLAY_HEADER, b"replay-20260301T090000Z-0123abcd")]

    assert raw(WINDOW, order(), headers=copy) is None
    assert raw(WINDOW, order(), headers={REPLAY_HEADER: b"run-1"}) is None
    assert raw(WINDOW, order(), headers=[(REPLAY_HEADER, b"")]) is None
    assert raw(WINDOW, order(), headers=[("traceparent", b"00-abc")]) is not None


def test_types_are_asked_by_their_short_names() -> None:
    orders_only = Selection(window=WINDOW.window, types=frozenset({"order"}))
    shipments_only = Selection(window=WINDOW.window, types=frozenset({"shipment"}))

    assert raw(orders_only, order()) is not None
    assert raw(orders_only, shipment()) is None
    picked = raw(shipments_only, shipment())
    assert picked is not None and picked.event_type == "shipment"


@pytest.mark.parametrize("asked", ["12", "order:12", "000000042"])
def test_an_order_is_found_by_its_entity_id_its_raw_key_or_its_increment_id(asked: str) -> None:
    selection = Selection(window=Window(), ids=frozenset({asked}))

    assert raw(selection, order()) is not None
    assert raw(selection, order(entity_id="13", increment_id="000000043"), key=b"order:13") is None


def test_a_shipment_is_found_by_its_order_s_id_through_the_key_they_share() -> None:
    selection = Selection(window=Window(), ids=frozenset({"12"}))

    assert raw(selection, shipment()) is not None


def test_an_email_is_matched_however_commerce_wrote_it() -> None:
    selection = Selection(window=Window(), emails=frozenset({"ada@example.com"}))
    shouted = order(customer_email="  Ada@Example.COM ")

    picked = raw(selection, shouted)
    assert picked is not None and picked.email == "ada@example.com"
    assert raw(selection, customer(), key=b"customer:7") is not None
    assert raw(selection, order(customer_email="grace@example.com")) is None
    assert raw(selection, shipment()) is None  # a shipment names no email: not asked for


def test_a_normalized_order_is_timed_and_found_by_its_own_fields() -> None:
    selection = Selection(
        topic=ORDERS,
        window=Window(START, END),
        ids=frozenset({"000000042"}),
        emails=frozenset({"ada@example.com"}),
    )
    event = {
        "email": "ada@example.com",
        "increment_id": "000000042",
        "updated_at": INSIDE.isoformat(),
        "occurred_at": (END + timedelta(days=1)).isoformat(),
    }

    picked = raw(selection, orjson.dumps(event), key=b"ada@example.com")
    assert picked is not None
    assert (picked.event_type, picked.moment) == ("order", INSIDE)
    late = {**event, "updated_at": END.isoformat()}
    assert raw(selection, orjson.dumps(late), key=b"ada@example.com") is None


def test_a_refund_is_timed_by_when_it_happened() -> None:
    selection = Selection(topic=REFUNDS, window=Window(START, END))
    refund = {"email": "ada@example.com", "occurred_at": INSIDE.isoformat()}

    picked = raw(selection, orjson.dumps(refund), key=b"ada@example.com")
    assert picked is not None and picked.event_type == "refund"


def test_hostile_fields_neither_match_nor_stop_the_selection() -> None:
    selection = Selection(window=Window(), ids=frozenset({"True", "1"}))
    value = order(entity_id=True, increment_id="1" * 10_000, customer_id=None, customer_email=[])

    assert raw(selection, value, key=None) is None


def record_at(partition: int, offset: int, key: bytes | None) -> Picked:
    found = raw(Selection(topic=RAW), order(), key=key, partition=partition, offset=offset)
    assert found is not None
    return found


def test_on_the_raw_topic_only_each_entity_s_last_record_in_the_window_is_replayed() -> None:
    # A replayed raw record restates its whole entity (an order with its shipments and credit
    # memos share its key), so one per entity is enough; each entity lives in one partition.
    records = [
        record_at(0, 3, b"order:12"),
        record_at(0, 5, b"customer:7"),
        record_at(0, 9, b"order:12"),
        record_at(1, 2, b"order:13"),
        record_at(1, 4, b"order:13"),
    ]

    chosen = last_of_each(RAW, records)

    assert [(r.partition, r.offset, r.key) for r in chosen] == [
        (0, 5, b"customer:7"),
        (0, 9, b"order:12"),
        (1, 4, b"order:13"),
    ]


def test_on_a_normalized_topic_every_record_is_replayed_in_topic_order() -> None:
    records = [record_at(1, 4, b"ada@example.com"), record_at(0, 9, b"ada@example.com")]
    records += [record_at(0, 3, b"ada@example.com")]

    chosen = last_of_each(ORDERS, records)

    assert [(r.partition, r.offset) for r in chosen] == [(0, 3), (0, 9), (1, 4)]


def test_records_are_put_back_by_partition_in_offset_order() -> None:
    records = [
        record_at(2, 8, b"a"),
        record_at(0, 5, b"b"),
        record_at(2, 1, b"c"),
        record_at(0, 2, b"d"),
    ]

    grouped = [(p, [r.offset for r in rs]) for p, rs in in_partitions(records)]

    assert grouped == [(0, [2, 5]), (2, [1, 8])]
    assert list(in_partitions([])) == []


def test_a_record_is_found_by_its_event_id_or_its_email_given_as_an_id() -> None:
    # `--id` says "an event id, an order or customer id, an email, a record key".
    value = order()
    event_id = orjson.loads(value)["eventid"]
    normalized = orjson.dumps(
        {"email": "ada@example.com", "event_id": "evt-7", "updated_at": INSIDE.isoformat()}
    )

    assert raw(Selection(ids=frozenset({event_id})), value) is not None
    assert raw(Selection(ids=frozenset({"ada@example.com"})), value) is not None
    assert raw(Selection(topic=ORDERS, ids=frozenset({"evt-7"})), normalized) is not None
    assert raw(Selection(ids=frozenset({"evt-8"})), value) is None
