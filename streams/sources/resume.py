"""Reading back what is already on the raw topic, so a resumed ingest publishes nothing twice."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from aiokafka import TopicPartition

from schemas.contract.topics import RAW
from streams.runtime.catch_up import Record, topic_ends, true_ends


async def raw_offsets(bootstrap: str, *, fetch_max_wait_ms: int = 100) -> dict[int, int]:
    """The offset of each raw partition's last record now (-1: none yet), read to its true end
    (the embedded broker's end offsets are one batch short)."""
    ends = await topic_ends(bootstrap, RAW, fetch_max_wait_ms=fetch_max_wait_ms)
    return {partition: offset - 1 for partition, offset in ends.items()}


async def ids_after(
    bootstrap: str, after: Mapping[int, int], *, fetch_max_wait_ms: int = 100
) -> set[str]:
    """Every `eventid` stored on the raw topic after the given offsets, read to its true end."""
    seen: set[str] = set()

    def keep(record: Record) -> None:
        try:
            event = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            return
        if isinstance(event, dict) and isinstance(event.get("eventid"), str):
            seen.add(event["eventid"])

    start = {TopicPartition(RAW, partition): offset + 1 for partition, offset in after.items()}
    await true_ends(bootstrap, start, hints=start, handle=keep, fetch_max_wait_ms=fetch_max_wait_ms)
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
