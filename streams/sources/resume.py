"""Reading back what is already on the raw topic, so a resumed ingest publishes nothing twice."""

from __future__ import annotations

import time
from collections.abc import Mapping

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.contract.topics import RAW


async def raw_offsets(bootstrap: str) -> dict[int, int]:
    """Where each raw partition ends now, as far as the broker says (Tansu may say less, which
    only means reading a little more later)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(RAW) or set()
        if not partitions:
            await consumer.topics()
            partitions = consumer.partitions_for_topic(RAW) or set()
        ends = await consumer.end_offsets([TopicPartition(RAW, p) for p in partitions])
        return {tp.partition: offset - 1 for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def ids_after(bootstrap: str, after: Mapping[int, int], quiet: float = 1.5) -> set[str]:
    """Every `eventid` stored on the raw topic after the given offsets, read until it goes quiet."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    seen: set[str] = set()
    try:
        assignment = [TopicPartition(RAW, partition) for partition in after]
        consumer.assign(assignment)
        for tp in assignment:
            consumer.seek(tp, after[tp.partition] + 1)
        last_news = time.monotonic()
        while time.monotonic() - last_news < quiet:
            batches = await consumer.getmany(timeout_ms=300)
            for records in batches.values():
                last_news = time.monotonic()
                for record in records:
                    try:
                        event = orjson.loads(record.value)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(event, dict) and isinstance(event.get("eventid"), str):
                        seen.add(event["eventid"])
    finally:
        await consumer.stop()
    return seen


class ResumePoint:
    """How far an ingest command's own records reach on the raw topic, kept in its checkpoint,
    so a resumed run can read back what it stored after its last checkpoint."""

    def __init__(self, saved: Mapping[str, int] | None = None) -> None:
        self.offsets = {int(partition): offset for partition, offset in (saved or {}).items()}

    async def resume(self, bootstrap: str) -> set[str]:
        """The event ids already stored past the checkpoint (a fresh run starts at the end)."""
        if not self.offsets:
            self.offsets = await raw_offsets(bootstrap)
        return await ids_after(bootstrap, self.offsets)

    def advance(self, offsets: Mapping[int, int]) -> None:
        for partition, offset in offsets.items():
            self.offsets[partition] = max(self.offsets.get(partition, -1), offset)

    def as_dict(self) -> dict[str, int]:
        return {str(partition): offset for partition, offset in self.offsets.items()}
