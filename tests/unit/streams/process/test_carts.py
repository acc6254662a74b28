"""The carts agent's step over recorded topics and in-memory tables: ticks fire due carts once,
on the realtime lane, in order; orders cancel or complete; guests wait for their email."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from schemas.contract.carts import CartLine, CartUpdated
from schemas.contract.normalized import OrderUpdated
from schemas.contract.topics import CARTS, ORDERS, TICKS
from schemas.dotdigital.commands import (
    ContactWrite,
    EnrolmentWrite,
    InsightWrite,
    Lane,
    WriteCommand,
)
from schemas.rules.ticks import Tick
from streams.process.cart_ticker import Ticker
from streams.process.carts import CartBook, CartRecords, CartRules
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.topics import TopicSet
from tests.support.consumed import Consumed, Message
from tests.support.topic import RecordingTopic

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
PROGRAM = 7001
LINE = CartLine(sku="24-MB01", name="Bag", qty=Decimal(1), price=Decimal(34), row_total=Decimal(34))


class Agent:
    def __init__(self, program: int | None = PROGRAM) -> None:
        self.moves: dict[str, str] = {}
        self.topics = TopicSet(**{f.name: RecordingTopic() for f in fields(TopicSet)})
        self.carts: dict[bytes, bytes] = {}
        self.timers: dict[bytes, bytes] = {}
        self.clock = T0
        self.metrics = Metrics()
        rules = CartRules(HOUR, timedelta(days=1), "https://shop.example.com", program)
        self.step = CartRecords(
            CartBook(self.carts, self.timers),
            rules,
            self.topics,
            Incidents(self.topics.deadletter, self.topics.exceptions),
            self.metrics,
            moved_to=self.moves.get,
            now=lambda: self.clock,
        )
        self.offset = 0

    async def put(self, topic: str, value: bytes, partition: int = 2, key: bytes = b"") -> None:
        self.offset += 1
        await self.step.one(Consumed(key, value, Message(topic, partition, self.offset)))

    async def cart(self, snapshot: CartUpdated, partition: int = 2) -> None:
        await self.put(CARTS, snapshot.model_dump_json().encode(), partition)

    async def tick(self, at: datetime, partition: int = 2) -> None:
        self.clock = at
        tick = Tick(partition=partition, clock=at).model_dump_json().encode()
        await self.put(TICKS, tick, partition)

    def writes(self) -> list[Any]:
        sent = self.topics.writes_realtime.sent
        return [WriteCommand.model_validate_json(value).command for _, value in sent]


def snapshot(at: datetime, *, items: int = 1, **changes: Any) -> CartUpdated:
    base: dict[str, Any] = {
        "event_id": f"ev-{at.isoformat()}",
        "occurred_at": at,
        "quote_id": "41",
        "email": "ann@example.com",
        "items": [LINE] * items,
        "grand_total": Decimal(34 * items),
        "created_at": T0,
        "updated_at": at,
    }
    return CartUpdated(**(base | changes))


def order() -> bytes:
    placed = OrderUpdated(
        event_id="ev-order",
        occurred_at=T0,
        email="ann@example.com",
        entity_id=7,
        increment_id="000000007",
        is_guest=True,
        quote_id=41,
        placed_at=T0,
        updated_at=T0,
    )
    return orjson.dumps(placed.model_dump(mode="json"))


async def test_a_due_cart_fires_contact_record_and_enrolment_in_order_once() -> None:
    agent = Agent()
    await agent.cart(snapshot(T0))

    await agent.tick(T0 + HOUR - timedelta(seconds=1))
    assert agent.writes() == []
    await agent.tick(T0 + HOUR)
    await agent.tick(T0 + HOUR + timedelta(seconds=5))

    contact, insight, enrolment = agent.writes()
    assert isinstance(contact, ContactWrite) and contact.email == "ann@example.com"
    assert isinstance(insight, InsightWrite)
    assert (insight.collection, insight.collection_type, insight.record.key) == (
        "CartInsight",
        "cartInsight",
        "41",
    )
    assert insight.record.json_["cartPhase"] == "ORDER_PENDING"
    assert isinstance(enrolment, EnrolmentWrite)
    assert (enrolment.program_id, enrolment.subject) == (
        PROGRAM,
        "cart 41 abandoned 2026-11-26 09:00:00",
    )
    assert {w.lane for w in (contact, insight, enrolment)} == {Lane.REALTIME}
    assert {key for key, _ in agent.topics.writes_realtime.sent} == {b"ann@example.com"}
    assert agent.timers == {}


async def test_a_tick_fires_only_its_own_partition() -> None:
    agent = Agent()
    await agent.cart(snapshot(T0), partition=2)

    await agent.tick(T0 + 2 * HOUR, partition=5)

    assert agent.writes() == []
    await agent.tick(T0 + 2 * HOUR, partition=2)
    assert len(agent.writes()) == 3


async def test_without_a_program_only_the_record_is_written() -> None:
    agent = Agent(program=None)
    await agent.cart(snapshot(T0))
    await agent.tick(T0 + HOUR)

    assert [type(w) for w in agent.writes()] == [ContactWrite, InsightWrite]


async def test_an_order_before_the_delay_cancels_and_after_it_completes() -> None:
    before, after = Agent(), Agent()
    for agent in (before, after):
        await agent.cart(snapshot(T0))
    await before.put(ORDERS, order())
    await before.tick(T0 + 2 * HOUR)
    await after.tick(T0 + HOUR)
    await after.put(ORDERS, order())
    await after.put(ORDERS, order())

    assert before.writes() == []
    *_, completed = after.writes()
    assert isinstance(completed, InsightWrite)
    assert completed.record.json_["cartPhase"] == "ORDER_COMPLETE"
    assert len(after.writes()) == 4


async def test_a_guest_cart_without_email_is_not_kept_and_never_fires() -> None:
    agent = Agent()
    await agent.cart(snapshot(T0, email=None), partition=6)
    await agent.tick(T0 + 2 * HOUR, partition=6)

    assert (agent.carts, agent.timers, agent.writes()) == ({}, {}, [])
    assert agent.metrics.counts["carts.without_email"] == 1


async def test_an_emptied_cart_loses_its_timer() -> None:
    agent = Agent()
    await agent.cart(snapshot(T0))
    await agent.cart(snapshot(T0 + timedelta(minutes=1), items=0))
    await agent.tick(T0 + 3 * HOUR)

    assert agent.writes() == [] and agent.timers == {}


async def test_an_unreadable_tick_or_cart_is_dead_lettered_and_the_agent_goes_on() -> None:
    agent = Agent()
    await agent.put(TICKS, b"{}")
    await agent.put(CARTS, b'{"quote_id": 1}')
    await agent.cart(snapshot(T0))
    await agent.tick(T0 + HOUR)

    assert len(agent.topics.deadletter.sent) == 2
    assert len(agent.writes()) == 3


class PartitionedTopic:
    def __init__(self) -> None:
        self.sent: list[tuple[int, Tick]] = []

    async def send(self, *, value: bytes, partition: int) -> asyncio.Future[None]:
        self.sent.append((partition, Tick.model_validate_json(value)))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_the_ticker_ticks_each_held_partition_with_its_clock() -> None:
    topic = PartitionedTopic()
    ticker = Ticker(lambda: [1, 4], topic, Metrics(), now=lambda: T0)

    assert await ticker.round() == 2
    assert [(p, t.partition, t.clock) for p, t in topic.sent] == [(1, 1, T0), (4, 4, T0)]


async def test_a_cart_due_longer_ago_than_the_stale_bound_is_dropped_unfired() -> None:
    agent = Agent()
    await agent.cart(snapshot(T0))

    await agent.tick(T0 + HOUR + timedelta(days=1, seconds=1))

    assert agent.writes() == [] and agent.timers == {}
    assert agent.metrics.counts["carts.stale"] == 1


async def test_a_due_cart_of_a_customer_who_changed_email_is_handed_to_the_new_address() -> None:
    agent = Agent()
    await agent.cart(snapshot(T0))
    agent.moves["ann@example.com"] = "ann.new@example.com"

    await agent.tick(T0 + HOUR)

    assert agent.writes() == []  # nothing under the old address: its contact was renamed
    ((key, value),) = agent.topics.carts.sent
    handed = CartUpdated.model_validate_json(value)
    assert key == b"ann.new@example.com"
    assert (handed.email, handed.updated_at) == ("ann.new@example.com", T0)
    assert agent.timers == {}
    await agent.tick(T0 + 2 * HOUR)
    assert agent.writes() == []

    await agent.cart(handed, partition=3)
    await agent.tick(T0 + HOUR, partition=3)
    contact, _, enrolment = agent.writes()
    assert contact.email == enrolment.email == "ann.new@example.com"
