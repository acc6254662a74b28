"""The normalize and join agents take their records in batches and wait for Kafka once per
batch: a batch sends exactly what its records sent one at a time would, in the same order, a
record's own fault still dead-letters only that record, and the tables change only once
everything the batch sent is acknowledged."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.topics import ORDERS, RAW, REFUNDS
from streams.process.join import JoinRecords, handlers
from streams.process.joiner import Joiner
from streams.process.normalize import Normalizer, NormalizeRecords
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.topics import TopicSet
from tests.support.consumed import Consumed, consumed
from tests.support.topic import RecordingTopic, UnacknowledgedTopic

FIXTURES = Path(__file__).parents[3] / "fixtures" / "commerce"
# An order, then its shipments and refund: each later record folds onto what the earlier kept.
LIFE = (
    "guest_order",
    "guest_order_shipment_partial",
    "guest_order_shipment_remainder",
    "guest_order_creditmemo",
    "registered_order",
)
POISON = b'{"specversion": "1.0", "type": "com.adobe.commerce.observer.sales_order_save_commit"'


def raw(name: str) -> bytes:
    return orjson.dumps(json.loads((FIXTURES / f"{name}.json").read_text()))


def raw_records(*values: bytes) -> list[Consumed]:
    records = []
    for offset, value in enumerate(values):
        try:
            key = raw_key(CloudEvent.model_validate_json(value)).encode()
        except ValueError:
            key = b"unreadable"
        records.append(consumed(RAW, value, key=key, offset=offset, partition=offset % 2))
    return records


def recorded() -> TopicSet:
    return TopicSet(**{f.name: RecordingTopic() for f in fields(TopicSet)})


# When a record was written down: the moment of the run, not of what the record says.
MOMENTS = ("at", "issued_at")


def stable(value: bytes) -> Any:
    """A sent value without the moments it was made at."""

    def without(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: without(v) for k, v in node.items() if k not in MOMENTS}
        return [without(v) for v in node] if isinstance(node, list) else node

    return without(orjson.loads(value))


def sent(topics: TopicSet) -> dict[str, list[tuple[bytes, Any]]]:
    """Every topic's sends, in order, leaving out the index hints and empty topics."""
    return {
        f.name: [(key, stable(value)) for key, value in getattr(topics, f.name).sent]
        for f in fields(TopicSet)
        if f.name != "raw_index" and getattr(topics, f.name).sent
    }


@dataclass
class Normalize:
    topics: TopicSet
    facts: dict[bytes, bytes]
    step: NormalizeRecords


def normalize(topics: TopicSet | None = None, facts: dict[bytes, bytes] | None = None) -> Normalize:
    topics = topics or recorded()
    facts = {} if facts is None else facts
    incidents = Incidents(topics.deadletter, topics.exceptions)
    return Normalize(
        topics, facts, NormalizeRecords(Normalizer(facts), topics, incidents, Metrics())
    )


async def test_a_normalize_batch_sends_and_keeps_what_its_records_one_at_a_time_would() -> None:
    records = raw_records(*(raw(name) for name in LIFE[:2]), POISON, *(raw(n) for n in LIFE[2:]))
    one_by_one, batched = normalize(), normalize()

    for record in records:
        await one_by_one.step.one(record)
    await batched.step.batch(records)

    assert sent(batched.topics) == sent(one_by_one.topics)
    assert len(batched.topics.refunds.sent) == 1  # the refund folded onto the batch's order
    assert len(batched.topics.deadletter.sent) == 1  # the poison, and only it
    assert batched.facts == one_by_one.facts != {}


async def test_a_normalize_batch_not_acknowledged_keeps_no_order_facts() -> None:
    healthy = normalize()
    dying = normalize(replace(healthy.topics, orders=UnacknowledgedTopic()), healthy.facts)

    with pytest.raises(ConnectionError):
        await dying.step.batch(raw_records(*(raw(name) for name in LIFE)))

    assert healthy.facts == {}  # the batch comes again after the restart, and folds afresh
    refunds = len(healthy.topics.refunds.sent)
    await healthy.step.batch(raw_records(*(raw(name) for name in LIFE)))
    assert len(healthy.topics.refunds.sent) == refunds + 1
    assert healthy.facts != {}


async def normalized() -> list[Consumed]:
    """What normalize publishes for LIFE on the orders and refunds topics, as the join reads
    it (keyed by email), with a record that is no v1 event among them."""
    step = normalize()
    await step.step.batch(raw_records(*(raw(name) for name in LIFE)))
    orders = [(ORDERS, key, value) for key, value in step.topics.orders.sent]
    refunds = [(REFUNDS, key, value) for key, value in step.topics.refunds.sent]
    unreadable = (ORDERS, b"someone@example.com", b'{"email": 7}')
    return [
        consumed(topic, value, key=key, offset=offset, partition=offset % 2)
        for offset, (topic, key, value) in enumerate(
            [*orders[:2], unreadable, *orders[2:], *refunds]
        )
    ]


@dataclass
class Join:
    topics: TopicSet
    contacts: dict[bytes, bytes]
    orders: dict[bytes, bytes]
    records: JoinRecords
    joiner: Joiner

    async def batch(self, events: list[Consumed]) -> None:
        await self.records.batch(events, handlers(self.joiner))


def join(
    topics: TopicSet | None = None,
    contacts: dict[bytes, bytes] | None = None,
    orders: dict[bytes, bytes] | None = None,
) -> Join:
    topics = topics or recorded()
    contacts = {} if contacts is None else contacts
    orders = {} if orders is None else orders
    joiner = Joiner(contacts, orders)
    incidents = Incidents(topics.deadletter, topics.exceptions)
    return Join(topics, contacts, orders, JoinRecords(joiner, topics, incidents), joiner)


async def test_a_join_batch_sends_and_keeps_what_its_records_one_at_a_time_would() -> None:
    events = await normalized()
    one_by_one, batched = join(), join()

    for event in events:
        await one_by_one.batch([event])
    await batched.batch(events)

    assert sent(batched.topics) == sent(one_by_one.topics)
    assert len(batched.topics.deadletter.sent) == 1  # the unreadable record, and only it
    assert (batched.contacts, batched.orders) == (one_by_one.contacts, one_by_one.orders)
    assert batched.orders != {}


async def test_a_join_batch_not_acknowledged_changes_no_table() -> None:
    healthy = join()
    topics = replace(healthy.topics, writes=UnacknowledgedTopic())
    dying = join(topics, healthy.contacts, healthy.orders)
    events = await normalized()

    with pytest.raises(ConnectionError):
        await dying.batch(events)

    assert (healthy.contacts, healthy.orders) == ({}, {})  # the batch comes again, whole
    await healthy.batch(events)
    assert healthy.contacts != {} and healthy.orders != {}
