"""The join agent's step on hostile normalized records: a fault of the record's own is
dead-lettered as processing failed, nothing half-sent, and the join goes on."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.incidents import DeadLetter, Reason
from schemas.contract.normalized import OrderUpdated
from schemas.contract.topics import CUSTOMERS, ORDERS
from streams.process.join import JoinRecords, handlers
from streams.process.joiner import Joiner
from streams.process.normalize import Normalizer
from streams.runtime.incidents import Incidents
from streams.runtime.topics import TopicSet
from tests.support.consumed import consumed
from tests.support.topic import RecordingTopic, UnacknowledgedTopic

FIXTURES = Path(__file__).parents[3] / "fixtures" / "commerce"


def normalized_order() -> dict[str, Any]:
    """The guest order fixture as the normalize agent publishes it on `commerce.orders.v1`."""
    event = CloudEvent.model_validate(json.loads((FIXTURES / "guest_order.json").read_text()))
    [order] = Normalizer({}).apply(raw_key(event).encode(), event)
    assert isinstance(order, OrderUpdated)
    document: dict[str, Any] = order.model_dump(mode="json", by_alias=True)
    return document


class Join:
    """The join's per-record step over in-memory tables and recorded topics."""

    def __init__(self) -> None:
        self.topics = TopicSet(**{f.name: RecordingTopic() for f in fields(TopicSet)})
        self.contacts: dict[bytes, bytes] = {}
        self.joiner = Joiner(self.contacts, {})
        self.records = JoinRecords(
            self.joiner, self.topics, Incidents(self.topics.deadletter, self.topics.exceptions)
        )
        self.dispatch = handlers(self.joiner)
        self._offset = 0

    async def put(self, topic: str, value: bytes, key: bytes) -> None:
        await self.records.one(consumed(topic, value, key=key, offset=self._offset), self.dispatch)
        self._offset += 1

    def dead_letters(self) -> list[DeadLetter]:
        return [DeadLetter.model_validate_json(v) for _, v in self.topics.deadletter.sent]

    def writes(self) -> int:
        return len(self.topics.writes.sent) + len(self.topics.writes_realtime.sent)


async def test_an_id_too_wide_to_encode_is_dead_lettered_and_nothing_of_it_is_sent() -> None:
    # Normalize bounds every id; a record on the topic from anywhere else may not be: orjson
    # cannot write an integer over 64 bits, and that used to stop the join.
    join = Join()
    order = normalized_order()
    email = order["email"].encode()
    poisoned = orjson.dumps({**order, "customer_id": 0}).replace(
        b'"customer_id":0', b'"customer_id":' + str(2**70).encode()
    )

    await join.put(ORDERS, poisoned, email)

    [letter] = join.dead_letters()
    assert letter.reason is Reason.PROCESSING_FAILED
    assert letter.detail.startswith("processing failed: ")
    assert "64-bit" in letter.detail
    assert (letter.source_topic, letter.offset, letter.original()) == (ORDERS, 0, poisoned)
    assert join.writes() == 0

    await join.put(ORDERS, orjson.dumps(order), email)

    assert join.writes() > 0
    assert len(join.dead_letters()) == 1


async def test_a_corrupt_contact_in_the_table_dead_letters_the_record_and_the_join_goes_on() -> (
    None
):
    join = Join()
    order = normalized_order()
    join.contacts[order["email"].encode()] = b'{"written by": "an older version"}'
    other = {**order, "email": "someone.else@example.com", "increment_id": "000000004"}

    await join.put(ORDERS, orjson.dumps(order), order["email"].encode())
    await join.put(ORDERS, orjson.dumps(other), b"someone.else@example.com")

    [letter] = join.dead_letters()
    assert letter.reason is Reason.PROCESSING_FAILED
    assert (
        letter.detail == "processing failed: ValidationError: 1 problem(s) in ContactState: missing"
    )
    assert order["email"] not in letter.detail
    assert join.writes() > 0  # the other contact's order


async def test_a_record_that_is_no_v1_event_is_still_unreadable() -> None:
    join = Join()

    await join.put(CUSTOMERS, b'{"email": 7}', b"\xff\xfe")

    [letter] = join.dead_letters()
    assert letter.reason is Reason.INVALID_PAYLOAD
    assert letter.key == "\ufffd\ufffd"  # a key that is no UTF-8 no longer stops the join


async def test_the_tables_change_only_once_the_writes_are_acknowledged() -> None:
    # A killed worker recovers its tables from their changelogs: had the join kept "contact
    # written" before Kafka had the write, the redelivered order would find nothing to write.
    join = Join()
    order = orjson.dumps(normalized_order())
    email = normalized_order()["email"].encode()
    healthy = join.topics
    dying = replace(healthy, writes=UnacknowledgedTopic())
    incidents = Incidents(healthy.deadletter, healthy.exceptions)

    join.records = JoinRecords(join.joiner, dying, incidents)
    with pytest.raises(ConnectionError):
        await join.put(ORDERS, order, email)
    assert join.contacts == {}  # nothing kept: the event will come again

    join.records = JoinRecords(join.joiner, healthy, incidents)
    await join.put(ORDERS, order, email)  # redelivered after the restart

    kinds = [orjson.loads(value)["command"]["kind"] for _, value in healthy.writes.sent]
    assert kinds[0] == "contact" and "insight" in kinds
    assert email in join.contacts
