"""The raw topic's sparse event-time index: runs of consecutive offsets summed up as they are
read, and the offset ranges a replay window must read whatever the index holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from schemas.contract.replay import IndexBlock
from schemas.contract.topics import RAW
from schemas.replay.window import Window

# Records one index block sums up: a replay reads at least a block's worth where a window starts
# or ends, and the index holds one block per this many raw records.
DEFAULT_BLOCK_SIZE = 1000

# Offsets from `first` to `last`, both included.
Range = tuple[int, int]

_NOTHING: tuple[IndexBlock, ...] = ()


class _Run:
    """The records of one partition read one after another since the last block."""

    __slots__ = ("count", "earliest", "first", "last", "latest")

    def __init__(self, offset: int, moment: datetime | None) -> None:
        self.first = self.last = offset
        self.count = 1
        self.earliest = self.latest = moment


class TimeIndexer:
    """Told every raw record as it is read (partition, offset, event time), it closes an
    `IndexBlock` every `block_size` consecutive offsets of a partition; a record that does not
    follow the last one read of its partition (a rebalance, a restart, a seek) closes the run so
    far and starts another. A block sums up only records actually read, so it is true however
    the reads went; runs not yet closed are in no block (a replay reads them)."""

    def __init__(self, block_size: int = DEFAULT_BLOCK_SIZE, *, topic: str = RAW) -> None:
        if block_size < 1:
            raise ValueError("an index block sums up at least one record")
        self._size = block_size
        self._topic = topic
        self._runs: dict[int, _Run] = {}

    def note(self, partition: int, offset: int, moment: datetime | None) -> tuple[IndexBlock, ...]:
        """Count one record read; the blocks this closes (usually none)."""
        run = self._runs.get(partition)
        if run is not None and offset == run.last + 1:
            run.last = offset
            run.count += 1
            if moment is not None:
                if run.earliest is None or run.latest is None:
                    run.earliest = run.latest = moment
                elif moment < run.earliest:
                    run.earliest = moment
                elif moment > run.latest:
                    run.latest = moment
            if run.count < self._size:
                return _NOTHING
            del self._runs[partition]
            return (self._block(partition, run),)
        closed = _NOTHING if run is None else (self._block(partition, run),)
        run = _Run(offset, moment)
        if self._size == 1:
            self._runs.pop(partition, None)
            return (*closed, self._block(partition, run))
        self._runs[partition] = run
        return closed

    def _block(self, partition: int, run: _Run) -> IndexBlock:
        return IndexBlock(
            topic=self._topic,
            partition=partition,
            first_offset=run.first,
            last_offset=run.last,
            count=run.count,
            earliest=run.earliest,
            latest=run.latest,
        )


def scan_plan(
    blocks: Iterable[IndexBlock],
    window: Window,
    starts: Mapping[int, int],
    ends: Mapping[int, int],
) -> dict[int, list[Range]]:
    """Per partition of `ends` (partition → its next offset), the offset ranges from `starts`
    (partition → first offset to consider; 0 if absent) to the end that a replay of `window`
    must read: everything but what a block the window misses sums up. Gaps between blocks, the
    tail no block sums up yet, and records only a block the window meets covers, are read;
    overlapping blocks (two workers read the same records) each vouch for what they cover.

    A partition with a block past its end is read whole: the index was read before the ends,
    so such a block sums up another topic of the same name (deleted and created again)."""
    skips: dict[int, list[Range]] = {}
    recreated: set[int] = set()
    for block in blocks:
        partition = block.partition
        end = ends.get(partition)
        if end is None:
            continue
        if block.last_offset >= end:
            recreated.add(partition)
            continue
        summed = block.last_offset - block.first_offset + 1
        if summed != block.count:
            continue  # not a run of consecutive records: it vouches for nothing
        if window.misses(block.earliest, block.latest):
            skips.setdefault(partition, []).append((block.first_offset, block.last_offset))
    return {
        partition: _uncovered(
            starts.get(partition, 0),
            end,
            [] if partition in recreated else skips.get(partition, []),
        )
        for partition, end in ends.items()
    }


def _uncovered(start: int, end: int, skips: list[Range]) -> list[Range]:
    """The offsets from `start` up to `end` (excluded) in none of `skips`, as ranges."""
    ranges: list[Range] = []
    cursor = start
    for first, last in sorted(skips):
        if cursor >= end:
            break
        if first > cursor:
            ranges.append((cursor, min(first, end) - 1))
        cursor = max(cursor, last + 1)
    if cursor < end:
        ranges.append((cursor, end - 1))
    return ranges


def planned_records(plan: Mapping[int, list[Range]]) -> int:
    """How many offsets a scan plan reads."""
    return sum(last - first + 1 for ranges in plan.values() for first, last in ranges)
