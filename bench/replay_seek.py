"""`make bench-replay`: how long a replay takes to find where a window at the end of the raw topic
starts, from the event-time index, next to a linear scan of the raw topic for the same answer
and a raw aiokafka read of the whole topic, on raw topics of 10k, 100k and 1M events.

Starts a fresh embedded broker. For each size it creates a raw topic and an index topic of their
own (8 partitions), produces that many signed-envelope-like Adobe I/O events (order saves,
keyed as on `commerce.raw.v1`, ~750 bytes) whose event times rise one second apart
with ±2 minutes of disorder, 2 % of them without an envelope `time` (their entity's `updated_at`
counts), and a back-dated run in the middle (5 % of the events, a month earlier, as a backfill
writes them). The index is built as the normalize agent builds it: a `TimeIndexer` fed every
record, in order, while reading the raw topic with aiokafka (event times by `raw_event_time`,
which agrees with what the agent reads from the envelope it parses), its blocks produced to the
index topic keyed and partitioned by the raw partition; not by a worker (normalizing 1M events
through Faust takes ~7 minutes here, the index's share of it is measured in the README).

Then, for the last hour of event time (open-ended), it times:
- the plan: `plan_window` — read the index topic to its end, read the raw topic's true ends,
  compute the ranges (median of several runs, and its parts once);
- the linear scan: read the whole raw topic, event time of every record, first offset per
  partition in the window (what a replay without an index must do);
- the baseline: a plain aiokafka consumer reading the whole raw topic, nothing decoded.
and checks that the plan reads every record the scan found in the window.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.harness import free_port, report_header
from sandbox.broker import EmbeddedBroker
from schemas.contract.replay import IndexBlock
from schemas.replay.time_index import DEFAULT_BLOCK_SIZE, Range, TimeIndexer, scan_plan
from schemas.replay.window import Window, raw_event_time
from streams.runtime.catch_up import Record, read_to_end, topic_ends
from streams.runtime.topics import encoded
from streams.sources.replay.time_index import index_blocks, plan_window

PARTITIONS = 8
T0 = datetime(2026, 11, 1, tzinfo=UTC)
BACKFILL = (0.45, 0.50)  # the share of the topic, by position, written by a backfill
BACKFILL_BACK = timedelta(days=30)
NO_TIME_SHARE = 0.02
DISORDER_SECONDS = 120.0
GIVE_UP = 900.0

ORDER = (
    b'{"specversion":"1.0","id":"%s","type":"com.adobe.commerce.observer.'
    b'sales_order_save_commit_after","source":"urn:uuid:2f1a0c3e-5b7d-4e9f-8a6b-0c1d2e3f4a5b",'
    b'%s"datacontenttype":"application/json","eventid":"%s","recipientclientid":"cartwright-bench",'
    b'"data":{"key":"%s","source":"luma.production","_metadata":{"commerceEdition":'
    b'"Adobe Commerce","commerceVersion":"2.4.8","storeId":"1","websiteId":"1"},"value":'
    b'{"entity_id":"%d","increment_id":"%09d","state":"processing","status":"processing",'
    b'"customer_email":"buyer-%d@bench.example.com","customer_is_guest":"1",'
    b'"order_currency_code":"GBP","grand_total":"%d.830000","created_at":"%s","updated_at":"%s"}}}'
)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def event_at(number: int, size: int, rng: random.Random) -> datetime:
    """When event `number` of `size` happened: a second after the one before, give or take two
    minutes, except for the back-dated run a backfill wrote in the middle."""
    low, high = int(size * BACKFILL[0]), int(size * BACKFILL[1])
    if low <= number < high:
        return T0 - BACKFILL_BACK + timedelta(seconds=(number - low) * 0.5)
    jitter = rng.uniform(-DISORDER_SECONDS, DISORDER_SECONDS)
    return T0 + timedelta(seconds=number + jitter)


def envelope(number: int, size: int, rng: random.Random) -> tuple[bytes, bytes]:
    """One raw record (key, value), an Adobe I/O envelope as the webhook stores it."""
    moment = event_at(number, size, rng)
    entity = number % max(size // 3, 1) + 1
    event_id = f"{number:08x}-3c1e-4b8a-9f2d-{entity:012x}"
    stamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    time_field = b"" if rng.random() < NO_TIME_SHARE else b'"time":"%s",' % stamp.encode()
    value = ORDER % (
        event_id.encode(),
        time_field,
        event_id.encode(),
        event_id[::-1].encode(),
        entity,
        entity,
        entity,
        100 + entity % 900,
        _stamp(moment - timedelta(minutes=5)).encode(),
        _stamp(moment).encode(),
    )
    return b"order:%d" % entity, value


async def create(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])
    finally:
        await admin.close()


def producer(bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=20,
        max_batch_size=256 * 1024,
    )


async def produce_raw(bootstrap: str, topic: str, size: int, seed: int) -> float:
    """`size` events onto `topic`; the seconds it took."""
    rng = random.Random(seed)  # noqa: S311 - made-up traffic, the same every run
    out = producer(bootstrap)
    await out.start()
    try:
        started = time.perf_counter()
        for number in range(size):
            key, value = envelope(number, size, rng)
            await out.send(topic, value=value, key=key)
        await out.flush()
        return time.perf_counter() - started
    finally:
        await out.stop()


async def build_index(bootstrap: str, topic: str, index_topic: str, block_size: int) -> int:
    """The index as the normalize agent writes it: every record noted in order while reading,
    each closed block sent keyed and partitioned by its raw partition; how many blocks."""
    indexer = TimeIndexer(block_size, topic=topic)
    blocks: list[IndexBlock] = []

    def note(record: Record) -> None:
        moment = raw_event_time(record.value or b"")
        blocks.extend(indexer.note(record.partition, record.offset, moment))

    await read_to_end(bootstrap, topic, note, give_up_after=GIVE_UP)
    out = producer(bootstrap)
    await out.start()
    try:
        for block in blocks:
            key = str(block.partition).encode()
            await out.send(index_topic, value=encoded(block), key=key, partition=block.partition)
        await out.flush()
    finally:
        await out.stop()
    return len(blocks)


async def linear_scan(
    bootstrap: str, topic: str, window: Window
) -> tuple[dict[int, list[int]], int]:
    """Without an index: every record read, the offsets per partition the window holds; and
    how many records were read."""
    held: dict[int, list[int]] = {p: [] for p in range(PARTITIONS)}
    read = 0

    def look(record: Record) -> None:
        nonlocal read
        read += 1
        if window.holds(raw_event_time(record.value or b"")):
            held[record.partition].append(record.offset)

    await read_to_end(bootstrap, topic, look, give_up_after=GIVE_UP)
    return held, read


async def raw_read(bootstrap: str, topic: str, size: int) -> int:
    """The baseline: a plain aiokafka consumer reading all `size` records, nothing decoded."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        read = 0
        async with asyncio.timeout(GIVE_UP):
            while read < size:
                batches = await consumer.getmany(timeout_ms=500)
                read += sum(len(records) for records in batches.values())
        return read
    finally:
        await consumer.stop()


async def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


def covers(ranges: list[Range], offset: int) -> bool:
    at = bisect.bisect_right(ranges, (offset, math.inf)) - 1
    return at >= 0 and ranges[at][0] <= offset <= ranges[at][1]


async def measure(bootstrap: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    topic, index_topic = f"bench.replay.raw.{size}", f"bench.replay.index.{size}"
    await create(bootstrap, [topic, index_topic])
    produce_s = await produce_raw(bootstrap, topic, size, seed=size)
    print(f"[{size:,}] produced in {produce_s:.1f} s", flush=True)
    build_s, blocks = await timed(
        lambda: build_index(bootstrap, topic, index_topic, args.block_size)
    )
    print(f"[{size:,}] index of {blocks} blocks built in {build_s:.1f} s", flush=True)
    last = T0 + timedelta(seconds=size)
    window = Window(last - timedelta(seconds=args.window_seconds))

    plans = []
    for _ in range(args.repeats):
        seconds, plan = await timed(
            lambda: plan_window(bootstrap, window, topic=topic, index_topic=index_topic)
        )
        plans.append((seconds, plan))
    plan = plans[-1][1]
    plan_times = sorted(seconds for seconds, _ in plans)
    index_s, read_blocks = await timed(
        lambda: index_blocks(bootstrap, topic=topic, index_topic=index_topic)
    )
    ends_s, ends = await timed(lambda: topic_ends(bootstrap, topic))
    started = time.perf_counter()
    scan_plan(read_blocks, window, {}, ends)
    compute_s = time.perf_counter() - started

    scan_s, (held, scanned) = await timed(lambda: linear_scan(bootstrap, topic, window))
    raw_s, read = await timed(lambda: raw_read(bootstrap, topic, size))
    checks = {
        "scan_read_every_record": scanned == size,
        "plan_ends_hold_every_record": plan.total == size,
        "index_read_whole": len(read_blocks) == blocks,
    }
    if not all(checks.values()):
        print(f"[{size:,}] WARNING: a check failed: {checks}", file=sys.stderr, flush=True)

    missing = sum(
        1 for p, offsets in held.items() for o in offsets if not covers(plan.ranges[p], o)
    )
    in_window = sum(len(offsets) for offsets in held.values())
    scan_first = {p: offsets[0] for p, offsets in held.items() if offsets}
    plan_s = statistics.median(plan_times)
    result = {
        "events": size,
        "raw_bytes_per_event": len(envelope(0, size, random.Random(0))[1]),  # noqa: S311
        "index_blocks": blocks,
        "window": {"start": window.start.isoformat() if window.start else None, "end": None},
        "events_in_window": in_window,
        "plan_seconds": {
            "median": round(plan_s, 4),
            "min": round(plan_times[0], 4),
            "max": round(plan_times[-1], 4),
            "runs": len(plan_times),
            "parts_once": {
                "read_index": round(index_s, 4),
                "true_ends": round(ends_s, 4),
                "compute": round(compute_s, 6),
            },
        },
        "plan_reads_records": plan.records,
        "plan_first_offsets": {str(p): o for p, o in sorted(plan.first_offsets.items())},
        "scan_first_offsets": {str(p): o for p, o in sorted(scan_first.items())},
        "plan_misses_records_in_window": missing,
        "checks": checks,
        "linear_scan_seconds": round(scan_s, 3),
        "raw_read_seconds": round(raw_s, 3),
        "raw_read_records": read,
        "scan_over_plan": round(scan_s / plan_s, 1),
        "raw_read_over_plan": round(raw_s / plan_s, 1),
        "produce_seconds": round(produce_s, 1),
        "index_build_seconds": round(build_s, 1),
    }
    print(
        f"[{size:,}] plan {plan_s:.3f} s (reads {plan.records:,}), scan {scan_s:.2f} s, "
        f"raw read {raw_s:.2f} s, {in_window:,} in window, {missing} missed",
        flush=True,
    )
    return result


def growth(rows: list[dict[str, Any]], figure: Callable[[dict[str, Any]], float]) -> float | None:
    """The exponent k in time ∝ size^k between the smallest and the largest size."""
    first, last = rows[0], rows[-1]
    if first["events"] == last["events"]:
        return None
    return round(
        math.log(figure(last) / figure(first)) / math.log(last["events"] / first["events"]), 2
    )


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| events | index blocks | plan (median) | plan reads | in window | linear scan "
        "| scan ÷ plan | raw aiokafka read | raw ÷ plan |"
    )
    lines = [head, "| " + " | ".join(["---"] * 9) + " |"]
    for row in rows:
        lines.append(
            f"| {row['events']:,} | {row['index_blocks']:,} | "
            f"{row['plan_seconds']['median']:.3f} s | {row['plan_reads_records']:,} | "
            f"{row['events_in_window']:,} | {row['linear_scan_seconds']:.2f} s | "
            f"{row['scan_over_plan']}x | {row['raw_read_seconds']:.2f} s | "
            f"{row['raw_read_over_plan']}x |"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(size) for size in args.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    with EmbeddedBroker(port=free_port()) as broker:
        for size in sizes:
            rows.append(asyncio.run(measure(broker.bootstrap, size, args)))
    return {
        **report_header("replay_seek"),
        "broker": "embedded Tansu (memory), fresh for this run",
        "configuration": {
            "partitions": PARTITIONS,
            "index_block_size": args.block_size,
            "window": f"the last {args.window_seconds:g} s of event time, open-ended",
            "event_times": f"one a second from {T0.isoformat()}, ±{DISORDER_SECONDS:g} s; "
            f"events {BACKFILL[0]:.0%} to {BACKFILL[1]:.0%} of the topic back-dated "
            f"{BACKFILL_BACK.days} days (a backfill); {NO_TIME_SHARE:.0%} without envelope time",
            "index_built_by": "TimeIndexer fed every record while reading the raw topic with "
            "aiokafka (raw_event_time: the normalize agent's semantics), blocks produced as the "
            "agent sends them; not a worker",
            "offsets_for_times": "not used (the embedded broker answers it wrongly)",
        },
        "sizes": rows,
        "growth_exponent": {
            "plan": growth(rows, lambda r: r["plan_seconds"]["median"]),
            "read_index": growth(rows, lambda r: r["plan_seconds"]["parts_once"]["read_index"]),
            "linear_scan": growth(rows, lambda r: r["linear_scan_seconds"]),
            "raw_read": growth(rows, lambda r: r["raw_read_seconds"]),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--block-size", type=int, default=DEFAULT_BLOCK_SIZE)
    parser.add_argument("--window-seconds", type=float, default=3600.0)
    parser.add_argument("--repeats", type=int, default=5, help="plan runs per size")
    parser.add_argument("--out", default="bench/results/replay_seek.json")
    args = parser.parse_args()
    report = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(table(report["sizes"]))
    print(f"growth exponent (time ∝ size^k): {report['growth_exponent']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
