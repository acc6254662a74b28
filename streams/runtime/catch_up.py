"""Reading a topic to its true end: until a fetch at each partition's position returns nothing.

The embedded broker answers ListOffsets-latest one batch too low, so "the end offset" cannot be
trusted (specs/embedded-broker.md). Instead each partition is read until the broker has answered
a fetch at the current position, issued after we asked, with no records.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


async def read_to_end(
    bootstrap: str,
    topic: str,
    handle: Callable[[Record], None],
    *,
    start: Mapping[int, int] | None = None,
    fetch_max_wait_ms: int = 50,
    give_up_after: float = 60.0,
) -> dict[int, int]:
    """Every record of `topic` from `start` (partition → offset; else the beginning), in order
    per partition, passed to `handle`; returns where each partition's next record will be."""
    consumer = _consumer(bootstrap, fetch_max_wait_ms)
    await consumer.start()
    try:
        async with asyncio.timeout(give_up_after):
            partitions = await _topic_partitions(consumer, topic)
            given = start or {}
            begin = {tp: given.get(tp.partition) for tp in partitions}
            ends = await _read(consumer, begin, handle, fetch_max_wait_ms)
            return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def true_ends(
    bootstrap: str,
    partitions: Iterable[TopicPartition],
    *,
    hints: Mapping[TopicPartition, int] | None = None,
    fetch_max_wait_ms: int = 50,
    give_up_after: float = 60.0,
) -> dict[TopicPartition, int]:
    """Where each partition's next record will be, read rather than asked: from its hint (an
    offset at or before the end), else from the broker's reported end - 1, up to the position
    where a fetch returns nothing. Keys are the partitions as given."""
    # aiokafka takes only its own TopicPartition; callers (Faust) may pass look-alike tuples.
    given = {TopicPartition(tp.topic, tp.partition): tp for tp in partitions}
    if not given:
        return {}
    known = {TopicPartition(tp.topic, tp.partition): offset for tp, offset in (hints or {}).items()}
    consumer = _consumer(bootstrap, fetch_max_wait_ms)
    await consumer.start()
    try:
        async with asyncio.timeout(give_up_after):
            asked = [tp for tp in given if tp not in known]
            reported = await consumer.end_offsets(asked) if asked else {}
            start = {**{tp: max(end - 1, 0) for tp, end in reported.items()}, **known}
            ends = await _read(consumer, {tp: start[tp] for tp in given}, _skip, fetch_max_wait_ms)
    finally:
        await consumer.stop()
    return {given[tp]: end for tp, end in ends.items()}


def _consumer(bootstrap: str, fetch_max_wait_ms: int) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        # Tansu answers a fetch only once the wait is up, even when data is there.
        fetch_max_wait_ms=fetch_max_wait_ms,
    )


def _skip(record: Record) -> None:
    """Finding an end needs no record's content."""


async def _topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer.topics()
        partitions = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(partitions)]


async def _read(
    consumer: AIOKafkaConsumer,
    start: Mapping[TopicPartition, int | None],
    handle: Callable[[Record], None],
    fetch_max_wait_ms: int,
) -> dict[TopicPartition, int]:
    """Every record from `start` (None: the beginning) to each partition's true end, passed to
    `handle`; returns the true ends (next offsets), keyed as in `start`."""
    pending = list(start)
    if not pending:
        return {}
    consumer.assign(pending)
    for tp, offset in start.items():
        if offset is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, offset)
    ends: dict[TopicPartition, int] = {}
    while pending:
        asked_ms = int(time.time() * 1000)
        batches = await consumer.getmany(*pending, timeout_ms=4 * fetch_max_wait_ms + 200)
        for tp in list(pending):
            records = batches.get(tp, [])
            for record in records:
                handle(record)
            if records:
                continue
            answered = consumer.last_poll_timestamp(tp)
            # aiokafka drops a fetch answer that is not for the current position, so a stamp
            # after we asked is the broker saying: nothing at this position.
            if answered is not None and answered >= asked_ms:
                ends[tp] = await consumer.position(tp)
                consumer.pause(tp)
                pending.remove(tp)
    return ends
