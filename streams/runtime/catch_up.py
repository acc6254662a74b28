"""Reading a topic to its true end: until a fetch at each partition's position returns nothing.

The embedded broker answers ListOffsets-latest one batch too low, so "the end offset" cannot be
trusted (specs/embedded-broker.md). Instead each partition is read until the broker has answered
a fetch at the current position, issued after we asked, with no records.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
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
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        # Tansu answers a fetch only once the wait is up, even when data is there.
        fetch_max_wait_ms=fetch_max_wait_ms,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(give_up_after):
            return await _read(consumer, topic, handle, start or {}, fetch_max_wait_ms)
    finally:
        await consumer.stop()


async def _read(
    consumer: AIOKafkaConsumer,
    topic: str,
    handle: Callable[[Record], None],
    start: Mapping[int, int],
    fetch_max_wait_ms: int,
) -> dict[int, int]:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer.topics()
        partitions = consumer.partitions_for_topic(topic) or set()
    pending = [TopicPartition(topic, p) for p in sorted(partitions)]
    if not pending:
        return {}
    consumer.assign(pending)
    for tp in pending:
        if tp.partition in start:
            consumer.seek(tp, start[tp.partition])
        else:
            await consumer.seek_to_beginning(tp)
    ends: dict[int, int] = {}
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
                ends[tp.partition] = await consumer.position(tp)
                consumer.pause(tp)
                pending.remove(tp)
    return ends
