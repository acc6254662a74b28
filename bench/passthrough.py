"""The pipeline benchmark's baseline: a plain aiokafka consume → produce loop between two topics.

What the broker and the client library allow on this machine with no processing at all: one
consumer in a group reads batches with `getmany`, a producer (acks=all, the worker's linger)
forwards each record unchanged (key, value, headers), and the batch's offsets are committed once
the producer has acknowledged all of it. `make bench-pipeline` runs it in a process of its own,
as the worker runs in one: `python -m bench.passthrough --bootstrap … --source … --target …`.
It prints one JSON line when it holds its partitions, and one when it has moved `--count`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener

from bench.harness import peak_rss_mb
from streams.runtime.producer import producer

GROUP = "bench-passthrough"
# A batch as large as a poll; the producer batches as the worker's does (streams.runtime.producer).
MAX_RECORDS = 1000


class Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Set once the group has given this consumer all `partitions`."""

    def __init__(self, partitions: int) -> None:
        self.everything = asyncio.Event()
        self._partitions = partitions

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.everything.clear()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if len(assigned) >= self._partitions:
            self.everything.set()


def say(**fields: Any) -> None:
    """One line for the benchmark that started this process."""
    sys.stdout.write(orjson.dumps(fields).decode() + "\n")
    sys.stdout.flush()


async def passthrough(
    bootstrap: str, source: str, target: str, count: int, partitions: int
) -> dict[str, Any]:
    """Move `count` records from `source` to `target`; what it took, from the first record read."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1500,
        fetch_max_wait_ms=100,
    )
    kafka = producer(bootstrap)
    await kafka.start()
    await consumer.start()
    try:
        assigned = Assigned(partitions)
        consumer.subscribe([source], listener=assigned)
        await assigned.everything.wait()
        say(ready=True)
        moved, batches, first = 0, 0, None
        while moved < count:
            polled = await consumer.getmany(timeout_ms=200, max_records=MAX_RECORDS)
            records = [record for batch in polled.values() for record in batch]
            if not records:
                continue
            first = first or time.time()
            acks = [
                await kafka.send(
                    target, value=record.value, key=record.key, headers=list(record.headers)
                )
                for record in records
            ]
            await asyncio.gather(*acks)
            await consumer.commit()
            moved += len(records)
            batches += 1
        return {
            "moved": moved,
            "batches": batches,
            "first_read": first,
            "done": time.time(),
            "peak_rss_mb": peak_rss_mb(os.getpid()),
        }
    finally:
        await consumer.stop()
        await kafka.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    moving = passthrough(args.bootstrap, args.source, args.target, args.count, args.partitions)
    done = asyncio.run(asyncio.wait_for(moving, args.timeout))
    say(**done)
    return 0 if done["moved"] >= args.count else 1


if __name__ == "__main__":
    sys.exit(main())
