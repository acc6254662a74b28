"""The raw topic's event-time index: blocks true to the records read, however the reads went,
and scan plans that read every record a window holds, checked against brute force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.contract.replay import IndexBlock
from schemas.replay.time_index import TimeIndexer, planned_records, scan_plan
from schemas.replay.window import Window

BASE = datetime(2026, 11, 1, tzinfo=UTC)


def at(minute: int | None) -> datetime | None:
    return None if minute is None else BASE + timedelta(minutes=minute)


def read(indexer: TimeIndexer, partition: int, offsets: range, minute: int = 0) -> list[IndexBlock]:
    return [b for o in offsets for b in indexer.note(partition, o, at(minute + o))]


def test_a_block_closes_every_block_size_consecutive_records() -> None:
    indexer = TimeIndexer(block_size=4)

    blocks = read(indexer, 0, range(10))

    assert [(b.first_offset, b.last_offset, b.count) for b in blocks] == [(0, 3, 4), (4, 7, 4)]
    assert (blocks[1].earliest, blocks[1].latest) == (at(4), at(7))
    assert {b.partition for b in blocks} == {0}


def test_a_jump_in_offsets_closes_the_run_read_so_far() -> None:
    indexer = TimeIndexer(block_size=100)
    read(indexer, 0, range(5))

    forward = indexer.note(0, 42, at(0))  # a seek forward: offsets 5..41 were not read here
    read(indexer, 0, range(43, 50))
    backward = indexer.note(0, 10, at(0))  # a restart from a committed offset

    assert [(b.first_offset, b.last_offset) for b in forward] == [(0, 4)]
    assert [(b.first_offset, b.last_offset, b.count) for b in backward] == [(42, 49, 8)]


def test_partitions_run_side_by_side() -> None:
    indexer = TimeIndexer(block_size=3)

    blocks = [b for o in range(3) for p in (0, 1) for b in indexer.note(p, 100 + o, at(o))]

    assert [(b.partition, b.first_offset, b.last_offset) for b in blocks] == [
        (0, 100, 102),
        (1, 100, 102),
    ]


def test_records_without_event_time_make_a_block_no_window_meets() -> None:
    indexer = TimeIndexer(block_size=2)

    (block,) = [b for o in range(2) for b in indexer.note(0, o, None)]

    assert (block.earliest, block.latest, block.count) == (None, None, 2)
    assert scan_plan([block], Window(), {}, {0: 2}) == {0: []}


def test_a_block_size_of_one_makes_a_block_per_record() -> None:
    indexer = TimeIndexer(block_size=1)

    blocks = read(indexer, 3, range(3))

    assert [(b.first_offset, b.last_offset) for b in blocks] == [(0, 0), (1, 1), (2, 2)]


def test_a_block_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one record"):
        TimeIndexer(block_size=0)


def test_the_plan_skips_blocks_the_window_misses_and_reads_the_open_tail() -> None:
    indexer = TimeIndexer(block_size=10)
    blocks = read(indexer, 0, range(35))  # minutes 0..34; offsets 30..34 in no block yet
    window = Window(at(12), at(15))

    plan = scan_plan(blocks, window, {0: 0}, {0: 35, 1: 7})

    assert plan == {0: [(10, 19), (30, 34)], 1: [(0, 6)]}
    assert planned_records(plan) == 22


def test_the_plan_starts_at_the_given_start() -> None:
    blocks = read(TimeIndexer(block_size=10), 0, range(30))

    plan = scan_plan(blocks, Window(at(25)), {0: 27}, {0: 40})

    assert plan == {0: [(27, 39)]}


def test_a_partition_whose_blocks_reach_past_its_end_is_read_whole() -> None:
    blocks = read(TimeIndexer(block_size=10), 0, range(30))

    plan = scan_plan(blocks, Window(at(1000)), {}, {0: 25})

    assert plan == {0: [(0, 24)]}


def test_a_block_that_does_not_sum_up_its_offsets_vouches_for_nothing() -> None:
    forged = IndexBlock(
        partition=0, first_offset=0, last_offset=9, count=3, earliest=at(0), latest=at(0)
    )

    assert scan_plan([forged], Window(at(50)), {}, {0: 10}) == {0: [(0, 9)]}


# --- against brute force ---

minutes = st.one_of(st.none(), st.integers(0, 60))


@dataclass
class Reads:
    """A raw topic's event times (partition → time of each offset), workers' reads of it in
    order (partition, first offset, how many), and a block size."""

    times: dict[int, list[int | None]]
    workers: list[list[tuple[int, int, int]]]
    block_size: int


@st.composite
def reads(draw: st.DrawFn) -> Reads:
    partitions = draw(st.integers(1, 3))
    times = {p: draw(st.lists(minutes, max_size=40)) for p in range(partitions)}
    segment = st.tuples(st.integers(0, partitions - 1), st.integers(0, 45), st.integers(1, 45))
    workers = draw(st.lists(st.lists(segment, max_size=6), max_size=3))
    return Reads(times, workers, draw(st.integers(1, 8)))


def blocks_of(given: Reads) -> list[IndexBlock]:
    blocks: list[IndexBlock] = []
    for worker in given.workers:
        indexer = TimeIndexer(block_size=given.block_size)
        for partition, first, count in worker:
            stored = given.times[partition]
            for offset in range(first, min(first + count, len(stored))):
                blocks.extend(indexer.note(partition, offset, at(stored[offset])))
    return blocks


windows = st.builds(
    lambda a, b: Window(at(a), at(b)), st.one_of(st.none(), st.integers(-5, 65)), minutes
)


@settings(max_examples=400)
@given(given=reads())
def test_every_block_sums_up_exactly_the_records_it_names(given: Reads) -> None:
    for block in blocks_of(given):
        summed = given.times[block.partition][block.first_offset : block.last_offset + 1]
        known = [m for m in summed if m is not None]
        assert block.count == len(summed) == block.last_offset - block.first_offset + 1
        assert block.count <= given.block_size
        assert block.earliest == (at(min(known)) if known else None)
        assert block.latest == (at(max(known)) if known else None)


@settings(max_examples=600)
@given(given=reads(), window=windows, start=st.integers(0, 10))
def test_the_plan_reads_every_record_in_the_window_and_skips_all_a_missed_block_vouches_for(
    given: Reads, window: Window, start: int
) -> None:
    blocks = blocks_of(given)
    ends = {p: len(stored) for p, stored in given.times.items()}

    plan = scan_plan(blocks, window, {p: start for p in ends}, ends)

    for partition, stored in given.times.items():
        planned = [o for first, last in plan[partition] for o in range(first, last + 1)]
        held = [o for o in range(start, len(stored)) if window.holds(at(stored[o]))]
        vouched = {
            o
            for b in blocks
            if b.partition == partition and window.misses(b.earliest, b.latest)
            for o in range(b.first_offset, b.last_offset + 1)
        }
        assert set(held) <= set(planned)
        assert planned == [o for o in range(start, len(stored)) if o not in vouched]
        ranges = plan[partition]
        assert all(a <= b for a, b in ranges)
        assert all(b + 1 < c for (_, b), (c, _) in pairwise(ranges))
