"""The recovery seam against the real embedded broker: a changelog whose reported end is a batch
short is still read, and a Faust table still recovered, to its last record; RocksDB tables, which
the worker refuses there, outlive the broker's in-memory log."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from sandbox.broker import EmbeddedBroker
from streams.runtime.catch_up import topic_ends, true_ends
from tests.support.stack import eventually, free_port

pytestmark = pytest.mark.integration

PARTITIONS = 2
KEYS = [f"key-{n}".encode() for n in range(10)]
ROUNDS = 3
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with EmbeddedBroker(port=free_port()) as broker:
        yield broker.bootstrap


async def create(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()
    return [TopicPartition(topic, p) for p in range(partitions)]


async def write_in_batches(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    """Every key written in each of `ROUNDS` rounds, a round one batch per partition, value
    b"round-<n>"; returns each partition's true end (next offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=50)
    await producer.start()
    ends: dict[TopicPartition, int] = {}
    try:
        for round_ in range(ROUNDS):
            sent = [
                await producer.send(topic, key=key, value=f"round-{round_}".encode())
                for key in KEYS
            ]
            await producer.flush()
            for future in sent:
                stored = future.result()
                tp = TopicPartition(stored.topic, stored.partition)
                ends[tp] = max(ends.get(tp, 0), stored.offset + 1)
    finally:
        await producer.stop()
    return ends


async def reported_ends(bootstrap: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        return ends
    finally:
        await consumer.stop()


async def test_true_ends_are_past_the_broker_reported_ends_of_batched_changelogs(
    bootstrap: str,
) -> None:
    tps = await create(bootstrap, "seam-ends-changelog")
    real = await write_in_batches(bootstrap, "seam-ends-changelog")

    reported = await reported_ends(bootstrap, tps)
    # The defect this seam exists for: the broker reports the last batch's base offset + 1.
    assert all(reported[tp] < real[tp] for tp in tps), (reported, real)

    assert await true_ends(bootstrap, tps) == real


async def test_true_ends_of_an_empty_partition_is_zero(bootstrap: str) -> None:
    tps = await create(bootstrap, "seam-empty")

    assert await true_ends(bootstrap, tps) == {tp: 0 for tp in tps}


async def test_true_ends_of_one_record_per_batch_match_the_reported_ends(bootstrap: str) -> None:
    tps = await create(bootstrap, "seam-single", partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for n in range(5):
            await producer.send_and_wait("seam-single", key=b"k", value=str(n).encode())
    finally:
        await producer.stop()

    assert await reported_ends(bootstrap, tps) == {tps[0]: 5}
    assert await true_ends(bootstrap, tps) == {tps[0]: 5}


async def test_true_ends_span_topics_and_start_from_hints(bootstrap: str) -> None:
    batched = await create(bootstrap, "seam-mixed-batched")
    empty = await create(bootstrap, "seam-mixed-empty", partitions=1)
    real = await write_in_batches(bootstrap, "seam-mixed-batched")

    from_start = {tp: 0 for tp in batched}
    found = await true_ends(bootstrap, [*batched, *empty], hints=from_start)

    assert found == {**real, empty[0]: 0}
    assert await topic_ends(bootstrap, "seam-mixed-batched") == {
        tp.partition: end for tp, end in real.items()
    }


async def test_true_ends_of_a_partition_still_being_written_are_found_without_chasing_it(
    bootstrap: str,
) -> None:
    tps = await create(bootstrap, "seam-busy", partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    written = 0
    going = asyncio.Event()

    async def keep_writing() -> None:
        nonlocal written
        while True:
            await producer.send_and_wait("seam-busy", key=b"k", value=b"v")
            written += 1
            if written == 20:
                going.set()

    writer = asyncio.create_task(keep_writing())
    try:
        async with asyncio.timeout(30):
            await going.wait()
        before = written
        # A record lands every few milliseconds, so a fetch at the end never comes back empty.
        found = await true_ends(bootstrap, tps, give_up_after=20)
        assert before <= found[tps[0]] <= written
    finally:
        writer.cancel()
        await producer.stop()


def recovery_worker(
    bootstrap: str, app_id: str, out: Path, *, trust: bool, rocksdb: Path | None
) -> tuple[subprocess.Popen[bytes], Path]:
    """A Faust worker of ours recovering `<app_id>-facts-changelog`, and its log."""
    command = [
        sys.executable,
        "-m",
        "tests.support.recovered_table",
        bootstrap,
        app_id,
        "facts",
        str(PARTITIONS),
        str(out),
        *(["--trust"] if trust else []),
        *(["--rocksdb", str(rocksdb)] if rocksdb else []),
    ]
    log = out.with_suffix(".log")
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT), log


def recover(
    bootstrap: str, app_id: str, out: Path, *, trust: bool, rocksdb: Path | None = None
) -> dict[str, str]:
    """The table a fresh Faust worker of ours recovers from `<app_id>-facts-changelog`."""
    worker, log = recovery_worker(bootstrap, app_id, out, trust=trust, rocksdb=rocksdb)
    try:

        def recovered() -> dict[str, str] | None:
            if worker.poll() is not None:
                raise AssertionError(f"worker exited:\n{log.read_text(errors='replace')}")
            if not out.exists():
                return None
            table: dict[str, str] = orjson.loads(out.read_bytes())
            return table

        return eventually(recovered, timeout=90, what=f"{app_id} to recover its table")
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def last_values() -> dict[str, Any]:
    return {key.decode(): f"round-{ROUNDS - 1}" for key in KEYS}


async def test_a_worker_recovers_every_keys_last_value_past_the_reported_end(
    bootstrap: str, tmp_path: Path
) -> None:
    await create(bootstrap, "seam-true-facts-changelog")
    await write_in_batches(bootstrap, "seam-true-facts-changelog")

    table = recover(bootstrap, "seam-true", tmp_path / "table.json", trust=False)

    assert table == last_values()
    log = (tmp_path / "table.log").read_text(errors="replace")
    assert "end offsets: the broker reported" in log


async def test_stock_faust_recovery_stops_a_batch_short_on_the_embedded_broker(
    bootstrap: str, tmp_path: Path
) -> None:
    await create(bootstrap, "seam-stock-facts-changelog")
    await write_in_batches(bootstrap, "seam-stock-facts-changelog")

    table = recover(bootstrap, "seam-stock", tmp_path / "table.json", trust=True)

    # What the seam is for: trusting the broker's end, the last batch's later records are lost.
    assert set(table) == set(last_values())
    assert table != last_values()


async def test_rocksdb_tables_outlive_the_embedded_broker_which_is_why_the_worker_refuses_them(
    bootstrap: str, tmp_path: Path
) -> None:
    await create(bootstrap, "seam-rocks-facts-changelog")
    await write_in_batches(bootstrap, "seam-rocks-facts-changelog")
    data = tmp_path / "data"

    # Within one broker's life, the seam recovers a RocksDB table to its last record too.
    assert recover(bootstrap, "seam-rocks", tmp_path / "table.json", trust=False, rocksdb=data) == (
        last_values()
    )

    # But every run starts a fresh broker, with empty changelogs, and RocksDB kept the offsets it
    # applied: the next worker stops in recovery (streams/runtime/preflight.py store_refusals).
    with EmbeddedBroker(port=free_port()) as fresh:
        worker, log = recovery_worker(
            fresh.bootstrap, "seam-rocks", tmp_path / "again.json", trust=False, rocksdb=data
        )
        try:
            eventually(lambda: worker.poll() is not None, timeout=90, what="the worker to stop")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    stopped = log.read_text(errors="replace")
    assert "ConsistencyError" in stopped
    assert "persisted offset for changelog topic partition" in stopped
    assert not (tmp_path / "again.json").exists()
