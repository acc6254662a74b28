"""Where a replay window's records are on the raw topic: its event-time index read back, the
topic's true ends, and the offset ranges to read (schemas/replay/time_index.py decides)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from schemas.contract.replay import IndexBlock
from schemas.contract.topics import RAW, RAW_INDEX
from schemas.replay.time_index import Range, planned_records, scan_plan
from schemas.replay.window import Window
from streams.runtime.catch_up import Record, read_to_end, topic_ends
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowPlan:
    """What a replay of a window reads: per raw partition, offset ranges (both ends included)
    up to the partition's end as it was when planned."""

    ranges: dict[int, list[Range]]
    ends: dict[int, int]
    blocks: int  # index blocks read

    @property
    def records(self) -> int:
        """Offsets the plan reads (records with no event time or outside the window included)."""
        return planned_records(self.ranges)

    @property
    def first_offsets(self) -> dict[int, int]:
        """Where reading starts in each partition (its end when there is nothing to read)."""
        return {p: ranges[0][0] if ranges else self.ends[p] for p, ranges in self.ranges.items()}

    @property
    def total(self) -> int:
        """Offsets of the raw topic up to the planned ends."""
        return sum(self.ends.values())


async def index_blocks(
    bootstrap: str, *, topic: str = RAW, index_topic: str = RAW_INDEX, give_up_after: float = 60.0
) -> list[IndexBlock]:
    """Every block of `index_topic` that sums up records of `topic`; an unreadable one is
    logged and left out (the replay then reads what it covered)."""
    blocks: list[IndexBlock] = []

    def keep(record: Record) -> None:
        try:
            block = IndexBlock.model_validate_json(record.value or b"")
        except ValidationError:
            log.warning(
                "index record %s[%d]@%d unreadable; left out",
                index_topic,
                record.partition,
                record.offset,
            )
            return
        if block.topic == topic:
            blocks.append(block)

    await read_to_end(bootstrap, index_topic, keep, give_up_after=give_up_after)
    return blocks


async def plan_window(
    bootstrap: str,
    window: Window,
    *,
    topic: str = RAW,
    index_topic: str = RAW_INDEX,
    event_lead: timedelta | None = None,
    give_up_after: float = 60.0,
) -> WindowPlan:
    """The offset ranges of `topic` a replay of `window` must read so that it reads every record
    whose event time the window holds. The index is read before the ends (so every block read
    sums up records below them); the ends are read, never asked (the embedded broker's are one
    batch short). With `event_lead`, the broker's offsets-for-times of the window's start less
    the lead bounds where each partition starts: a record appended earlier was appended before
    its event happened, by more than the webhook lets a clock lead (Apache Kafka only)."""
    blocks = await index_blocks(
        bootstrap, topic=topic, index_topic=index_topic, give_up_after=give_up_after
    )
    ends = await topic_ends(bootstrap, topic, give_up_after=give_up_after)
    floor = None if event_lead is None or window.start is None else window.start - event_lead
    starts = await _starts(bootstrap, topic, ends, floor, give_up_after)
    return WindowPlan(scan_plan(blocks, window, starts, ends), ends, len(blocks))


async def plan_for(settings: Settings, window: Window) -> WindowPlan:
    """`plan_window` on the raw topic as the settings say: the broker's timestamp seeks only
    where they are trusted (KAFKA__TRUST_TIMESTAMP_SEEKS), bounded by WEBHOOK__MAX_EVENT_LEAD."""
    lead = settings.webhook.max_event_lead if settings.kafka.trust_timestamp_seeks else None
    return await plan_window(settings.kafka.bootstrap, window, event_lead=lead)


async def _starts(
    bootstrap: str,
    topic: str,
    ends: dict[int, int],
    floor: datetime | None,
    give_up_after: float,
) -> dict[int, int]:
    """Each partition's first offset still held, raised to the first offset appended at or
    after `floor` when given (none such: the partition's end, nothing to read)."""
    partitions = [TopicPartition(topic, p) for p in ends]
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        async with asyncio.timeout(give_up_after):
            first = await consumer.beginning_offsets(partitions)
            starts = {tp.partition: offset for tp, offset in first.items()}
            if floor is None:
                return starts
            millis = max(int(floor.timestamp() * 1000), 0)
            found = await consumer.offsets_for_times({tp: millis for tp in partitions})
    finally:
        await consumer.stop()
    for tp, at in found.items():
        bound = ends[tp.partition] if at is None else at.offset
        starts[tp.partition] = max(starts[tp.partition], bound)
    return starts
