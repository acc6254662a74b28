"""The normalize agent keeps the raw topic's event-time index: every record it reads is summed
up, whatever becomes of it, in blocks sent under the raw partition; blocks are never waited for
record by record, and never pile up unanswered."""

from __future__ import annotations

import asyncio
import json
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from schemas.contract.replay import IndexBlock
from schemas.contract.topics import RAW
from streams.process.normalize import MAX_BLOCKS_IN_FLIGHT, Normalizer, NormalizeRecords
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.topics import TopicSet
from tests.support.consumed import consumed
from tests.support.topic import RecordingTopic, UnacknowledgedTopic

FIXTURES = Path(__file__).parents[3] / "fixtures" / "commerce"
ORDER: dict[str, Any] = json.loads((FIXTURES / "guest_order.json").read_text())
ORDER_TIME = datetime(2026, 11, 26, 10, 15, 4, 123000, tzinfo=UTC)


class Agent:
    def __init__(self, block_size: int, raw_index: RecordingTopic | None = None) -> None:
        topics = {f.name: RecordingTopic() for f in fields(TopicSet)}
        if raw_index is not None:
            topics["raw_index"] = raw_index
        self.topics = TopicSet(**topics)
        self.metrics = Metrics()
        self.step = NormalizeRecords(
            Normalizer({}),
            self.topics,
            Incidents(self.topics.deadletter, self.topics.exceptions),
            self.metrics,
            index_block_size=block_size,
        )

    async def put(self, value: bytes, *, partition: int, offset: int) -> None:
        await self.step.one(consumed(RAW, value, key=b"k", offset=offset, partition=partition))

    def blocks(self) -> list[IndexBlock]:
        index: RecordingTopic = self.topics.raw_index
        return [IndexBlock.model_validate_json(value) for _, value in index.sent]


def order_at(time: str | None, updated_at: str = "2026-11-26 10:15:03") -> bytes:
    envelope = {**ORDER, "data": {**ORDER["data"], "value": {**ORDER["data"]["value"]}}}
    envelope["data"]["value"]["updated_at"] = updated_at
    if time is None:
        envelope.pop("time", None)
    else:
        envelope["time"] = time
    return orjson.dumps(envelope)


async def test_every_record_read_is_summed_up_dead_lettered_and_unused_ones_too() -> None:
    agent = Agent(block_size=5)
    unused = orjson.dumps({**ORDER, "type": "com.adobe.commerce.observer.something_else"})
    records = [
        order_at("2026-11-26T10:15:04.123Z"),
        b"not json at all",
        orjson.dumps({"type": "no event id"}),
        unused,
        order_at(None, updated_at="2026-11-20 08:00:00"),
    ]

    for offset, value in enumerate(records, start=40):
        await agent.put(value, partition=3, offset=offset)
    await asyncio.sleep(0)  # a turn of the loop for the answer's callback, not a wait on time

    (block,) = agent.blocks()
    assert (block.partition, block.first_offset, block.last_offset, block.count) == (3, 40, 44, 5)
    assert block.earliest == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert block.latest == ORDER_TIME
    index: RecordingTopic = agent.topics.raw_index
    assert index.sent[0][0] == b"3"
    assert index.partitions == [3]
    assert agent.metrics.counts["normalize.dead_lettered"] == 2
    assert agent.metrics.counts["normalize.index_blocks"] == 1


async def test_a_restart_from_an_earlier_offset_closes_the_run_read_so_far() -> None:
    agent = Agent(block_size=100)

    for offset in (0, 1, 2, 1):
        await agent.put(order_at("2026-11-26T10:15:04.123Z"), partition=0, offset=offset)

    assert [(b.first_offset, b.last_offset) for b in agent.blocks()] == [(0, 2)]


async def test_a_block_the_broker_refuses_is_counted_lost_and_the_agent_goes_on() -> None:
    agent = Agent(block_size=1, raw_index=UnacknowledgedTopic())

    await agent.put(order_at("2026-11-26T10:15:04.123Z"), partition=1, offset=0)
    await agent.put(order_at("2026-11-26T10:15:04.123Z"), partition=1, offset=1)
    await asyncio.sleep(0)  # a turn of the loop for the answers' callbacks, not a wait on time

    assert agent.metrics.counts["normalize.index_blocks_lost"] == 2
    assert agent.metrics.counts["normalize.events"] == 2


class UnansweredTopic(RecordingTopic):
    """A topic whose sends stay unanswered until the test answers them."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[asyncio.Future[None]] = []

    async def send(
        self, *, key: bytes, value: bytes, partition: int | None = None, headers: Any = None
    ) -> asyncio.Future[None]:
        await super().send(key=key, value=value, partition=partition, headers=headers)
        answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(answer)
        return answer


async def test_records_do_not_wait_for_blocks_until_too_many_are_unanswered() -> None:
    index = UnansweredTopic()
    agent = Agent(block_size=1, raw_index=index)
    value = order_at("2026-11-26T10:15:04.123Z")

    for offset in range(MAX_BLOCKS_IN_FLIGHT):
        await agent.put(value, partition=0, offset=offset)
    one_more = asyncio.create_task(agent.put(value, partition=0, offset=MAX_BLOCKS_IN_FLIGHT))
    for _ in range(5):
        await asyncio.sleep(0)  # turns of the loop, not a wait on time
    held = not one_more.done()
    index.waiting[0].set_result(None)
    await one_more

    assert held
    assert len(index.sent) == MAX_BLOCKS_IN_FLIGHT + 1
    assert agent.metrics.counts["normalize.events"] == MAX_BLOCKS_IN_FLIGHT + 1
