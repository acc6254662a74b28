"""Bytes tables keep what agents write, in memory or in RocksDB (TABLES__STORE), read as one
table whichever partition an event comes from, per partition for the ops digests."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.stores import memory, rocksdb
from faust.types import TP

from streams.app import create_app, faust_options
from streams.runtime.tables import bytes_table, held_pairs
from streams.settings import KafkaSettings, Settings, TablesSettings

# What the test agent does with an event's key: write the value, read (and record) it, delete.
READ, DELETE = b"?", b"-"


class Tabled:
    """A Faust app with one bytes table and one agent that writes, reads or deletes its keys,
    each event on the partition it is put on (no broker: Faust's agent test context)."""

    def __init__(self, store: str, data_dir: Path) -> None:
        self.app: Any = faust.App(
            "tables-test", broker="kafka://127.0.0.1:1", store=store, datadir=str(data_dir)
        )
        self.table = bytes_table(self.app, "contacts", 4)
        self.reads: list[tuple[bytes | None, bool]] = []
        source = self.app.topic(
            "tables-test-source",
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )
        self.agent = self.app.agent(source, name="tables-test-agent")(self._step)

    async def _step(self, stream: Any) -> None:
        async for event in stream.events():
            if event.value == READ:
                self.reads.append((self.table.get(event.key), event.key in self.table))
            elif event.value == DELETE:
                del self.table[event.key]
            else:
                self.table[event.key] = event.value

    def changelog(self, partition: int) -> TP:
        return TP(self.table.changelog_topic.get_topic_name(), partition)


Put = Callable[..., Any]


@pytest.fixture
def rocks(tmp_path: Path) -> Tabled:
    return Tabled("rocksdb://", tmp_path)


@pytest.fixture
async def rocks_agent(rocks: Tabled) -> AsyncIterator[Any]:
    async with rocks.agent.test_context() as agent:
        yield agent


def test_tables_are_kept_in_memory_by_default() -> None:
    options = faust_options(Settings())

    assert options["store"] == "memory://"
    assert options["datadir"] == "cartwright-data"


def test_one_standby_replica_is_kept_unless_the_operator_says_otherwise() -> None:
    # Faust's default: a partition that moves is ready at once, for the price of reading every
    # changelog record once more (make bench-pipeline: 392 against 696 events/s, 2 workers).
    assert create_app(Settings()).conf.table_standby_replicas == 1
    none = Settings(tables=TablesSettings(standby_replicas=0))
    assert create_app(none).conf.table_standby_replicas == 0


def test_the_rocksdb_setting_gives_every_table_a_rocksdb_store_under_the_data_dir(
    tmp_path: Path,
) -> None:
    settings = Settings(
        tables=TablesSettings(store="rocksdb", data_dir=str(tmp_path / "worker-1")),
        kafka=KafkaSettings(trust_end_offsets=True),
    )

    app = create_app(settings)

    assert faust_options(settings)["store"] == "rocksdb://"
    assert app.conf.tabledir == tmp_path / "worker-1" / "v1" / "tables"
    stores = {name: table.data for name, table in app.tables.items()}
    assert {"contacts", "orders", "carts", "cart_timers"} <= set(stores)
    assert all(isinstance(store, rocksdb.Store) for store in stores.values())
    assert all(store.path == app.conf.tabledir for store in stores.values())
    # rocksdict, not the older python-rocksdb bindings: the driver pyproject.toml installs.
    assert all(store.use_rocksdict for store in stores.values())


def test_the_memory_setting_keeps_faust_s_memory_store(tmp_path: Path) -> None:
    app = create_app(Settings(tables=TablesSettings(data_dir=str(tmp_path))))

    assert all(isinstance(table.data, memory.Store) for table in app.tables.values())


async def test_a_rocksdb_table_stores_and_reads_back_what_an_agent_wrote(
    rocks: Tabled, rocks_agent: Any
) -> None:
    await rocks_agent.put(b'{"consent":"subscribed"}', key=b"ada@example.com", partition=1)
    await rocks_agent.put(READ, key=b"ada@example.com", partition=1)
    await rocks_agent.put(READ, key=b"alan@example.com", partition=1)

    assert rocks.reads == [(b'{"consent":"subscribed"}', True), (None, False)]
    assert sorted(path.name for path in rocks.app.conf.tabledir.glob("contacts-*.db")) == [
        "contacts-1.db"
    ]


async def test_a_rocksdb_table_finds_a_key_from_an_event_of_another_partition(
    rocks: Tabled, rocks_agent: Any
) -> None:
    # As the memory store does: the sink's consent gate reads contacts of many partitions while
    # one event of its batch is current. Faust's stock RocksDB store would answer None here.
    await rocks_agent.put(b"subscribed", key=b"ada@example.com", partition=1)
    await rocks_agent.put(READ, key=b"ada@example.com", partition=2)

    assert rocks.reads == [(b"subscribed", True)]


async def test_a_deleted_key_is_gone_from_a_rocksdb_table(rocks: Tabled, rocks_agent: Any) -> None:
    await rocks_agent.put(b"subscribed", key=b"ada@example.com", partition=1)
    await rocks_agent.put(DELETE, key=b"ada@example.com", partition=1)
    await rocks_agent.put(READ, key=b"ada@example.com", partition=1)

    assert rocks.reads == [(None, False)]


async def test_a_rocksdb_table_is_digested_per_partition_from_its_databases(
    rocks: Tabled, rocks_agent: Any
) -> None:
    await rocks_agent.put(b"1", key=b"ada@example.com", partition=1)
    await rocks_agent.put(b"2", key=b"alan@example.com", partition=3)
    await rocks_agent.put(b"3", key=b"grace@example.com", partition=1)

    assert held_pairs(rocks.table, [0, 1, 2]) == {
        0: [],
        1: [(b"ada@example.com", b"1"), (b"grace@example.com", b"3")],
        2: [],
    }


async def test_what_a_rocksdb_table_kept_is_there_when_the_worker_opens_it_again(
    tmp_path: Path,
) -> None:
    first = Tabled("rocksdb://", tmp_path)
    async with first.agent.test_context() as agent:
        await agent.put(b"subscribed", key=b"ada@example.com", partition=2)
    await first.table.data.stop()  # closes its databases, as a stopping worker does
    del first
    gc.collect()

    again = Tabled("rocksdb://", tmp_path)
    # What a rebalance does when this worker is assigned the partition again.
    await again.table.data.assign_partitions(again.table, {again.changelog(2)})

    assert again.table.get(b"ada@example.com") == b"subscribed"
    assert held_pairs(again.table, [2]) == {2: [(b"ada@example.com", b"subscribed")]}


async def test_a_memory_table_is_digested_per_partition_its_writes_went_to(
    tmp_path: Path,
) -> None:
    tabled = Tabled("memory://", tmp_path)
    async with tabled.agent.test_context() as agent:
        await agent.put(b"1", key=b"ada@example.com", partition=0)
        await agent.put(b"2", key=b"alan@example.com", partition=2)
        await agent.put(b"3", key=b"grace@example.com", partition=3)
        await agent.put(READ, key=b"grace@example.com", partition=0)

    assert tabled.reads == [(b"3", True)]
    assert held_pairs(tabled.table, [0, 1, 2]) == {
        0: [(b"ada@example.com", b"1")],
        1: [],
        2: [(b"alan@example.com", b"2")],
    }


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_a_write_made_after_its_event_lands_on_the_partition_it_names(
    store: str, tmp_path: Path
) -> None:
    # A batch keeps its table changes once Kafka acknowledged what it sent: outside any stream
    # iteration, where Faust has no current event to take the partition from.
    tabled = Tabled(store, tmp_path)
    async with tabled.agent.test_context() as agent:
        tabled.table.put(b"ada@example.com", b"subscribed", 2)
        await agent.put(READ, key=b"ada@example.com", partition=0)

    assert tabled.reads == [(b"subscribed", True)]
    assert held_pairs(tabled.table, [0, 2]) == {0: [], 2: [(b"ada@example.com", b"subscribed")]}
