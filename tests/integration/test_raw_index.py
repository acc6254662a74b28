"""The raw topic's event-time index on the real broker: a worker normalizing signed store traffic
writes index blocks under each raw partition, and a replay window's plan reads every raw record
the window holds (checked against a read of the whole topic) while skipping what it may."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.contract.replay import IndexBlock
from schemas.contract.topics import RAW, RAW_INDEX
from schemas.replay.window import Window, raw_event_time
from streams.sources.replay.time_index import WindowPlan, index_blocks, plan_window
from tests.support.scenario import scenario
from tests.support.stack import accepted, eventually, read_all, running_stack

pytestmark = pytest.mark.integration

BLOCK = 4


def planned(plan: WindowPlan) -> set[tuple[int, int]]:
    return {
        (partition, offset)
        for partition, ranges in plan.ranges.items()
        for first, last in ranges
        for offset in range(first, last + 1)
    }


def indexed_to_the_tail(bootstrap: str, records: Counter[int]) -> list[IndexBlock] | None:
    """The index, once every partition's blocks reach within a block of its end."""
    blocks = asyncio.run(index_blocks(bootstrap))
    reached: dict[int, int] = {}
    for block in blocks:
        reached[block.partition] = max(reached.get(block.partition, -1), block.last_offset)
    done = all(reached.get(p, -1) >= count - BLOCK for p, count in records.items())
    return blocks if done else None


def test_the_plan_of_a_window_reads_every_raw_record_it_holds_and_skips_the_rest(
    tmp_path: Path,
) -> None:
    traffic = scenario()
    with running_stack(tmp_path, CARTWRIGHT_REPLAY__INDEX_BLOCK_SIZE=str(BLOCK)) as stack:
        for chunk in traffic.chunks(8):
            accepted(stack.deliver(chunk))
        raw = read_all(stack.bootstrap, RAW, decode=bytes)
        assert len(raw) == len(traffic.events)
        per_partition = Counter(record["partition"] for record in raw)
        blocks = eventually(
            lambda: indexed_to_the_tail(stack.bootstrap, per_partition),
            timeout=90,
            what="index blocks up to each raw partition's last block",
        )
        index = read_all(stack.bootstrap, RAW_INDEX)

        times: dict[tuple[int, int], datetime | None] = {
            (r["partition"], r["offset"]): raw_event_time(r["value"]) for r in raw
        }
        moments = sorted(t for t in times.values() if t is not None)
        narrow = Window(moments[len(moments) * 2 // 5], moments[len(moments) * 3 // 5])
        plans: dict[str, Any] = {
            name: asyncio.run(plan_window(stack.bootstrap, window))
            for name, window in {
                "narrow": narrow,
                "everything": Window(),
                "after": Window(moments[-1] + (moments[-1] - moments[0])),
            }.items()
        }
        # Offsets-for-times as a lower bound: the embedded broker's answers may not help, but
        # must not lose a record of the window.
        bounded = asyncio.run(plan_window(stack.bootstrap, narrow, event_lead=timedelta(hours=1)))

    # Blocks sit under their raw partition, as text, on the same partition number.
    assert index and all(r["key"] == str(r["partition"]) for r in index)
    assert all(r["value"]["partition"] == r["partition"] for r in index)
    assert len(blocks) >= sum(count // BLOCK for count in per_partition.values())
    for plan in plans.values():
        assert {p: end for p, end in plan.ends.items() if end} == dict(per_partition)

    held = {where for where, moment in times.items() if narrow.holds(moment)}
    narrow_plan = plans["narrow"]
    assert held and held <= planned(narrow_plan)
    assert held <= planned(bounded)
    assert narrow_plan.records < len(raw) / 2, narrow_plan.ranges
    # Tight: beyond the window's records, a block each side of it and the unindexed tail.
    assert narrow_plan.records <= len(held) + 3 * BLOCK * len(per_partition)

    everything = {where for where, moment in times.items() if moment is not None}
    assert everything <= planned(plans["everything"])
    # A window after every event: only the tail no block sums up yet is read.
    assert plans["after"].records < BLOCK * len(per_partition)
