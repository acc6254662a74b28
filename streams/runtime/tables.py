"""Faust tables of bytes: the values are our own pydantic JSON, kept in memory or in RocksDB."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

import faust
from faust import stores
from faust.stores import rocksdb
from faust.types import FutureMessage

Pair = tuple[bytes, bytes]


class _RocksDBStore(rocksdb.Store):
    """Faust's RocksDB store (one database per changelog partition), read as the memory store
    reads: a key is found in whichever partition this worker holds it, not only in the current
    event's. Stock Faust looks only in the current event's partition, but Cartwright reads
    across partitions (the sink's consent gate reads a batch of many partitions' contacts under
    one current event), so on RocksDB a contact the memory store finds would be missing. Writes
    still go to the current event's partition, the one its changelog record goes to."""

    def _get(self, key: bytes) -> bytes | None:
        found = self._get_bucket_for_key(key)
        return None if found is None else found.value

    def _contains(self, key: bytes) -> bool:
        return self._get_bucket_for_key(key) is not None

    def put_at(self, key: bytes, value: bytes, partition: int) -> None:
        """`self[key] = value` in `partition`'s database, outside any current event."""
        self._key_index[key] = partition
        self._db_for_partition(partition).put(self._encode_key(key), self._encode_value(value))

    def partition_items(self, partition: int) -> Iterator[Pair]:
        """The (key, value) pairs of one changelog partition, if this worker has it open."""
        db = self._dbs.get(partition)
        if db is not None:
            yield from self._visible_items(db)


class _BytesTable(faust.Table[bytes, bytes]):
    """A Faust table that remembers, for every key, the changelog partition it was last
    written to: Faust's memory store knows that only for keys it recovered, and a write's
    partition is its source event's, not the key's hash (an order lives with its buyer's email).
    Knowing it for every key lets the store forget the keys of partitions this worker no longer
    holds after a rebalance, as it already does for recovered ones, and lets `/ops/tables`
    digest each partition (streams/ops/table_digest.py). The RocksDB store knows it already: it
    keeps each partition in its own database."""

    def _new_store_by_url(self, url: Any) -> Any:
        if stores.by_url(url) is not rocksdb.Store:
            return super()._new_store_by_url(url)
        return _RocksDBStore(
            url,
            self.app,
            self,
            table_name=self.name,
            key_type=self.key_type,
            key_serializer=self.key_serializer,
            value_serializer=self.value_serializer,
            value_type=self.value_type,
            loop=self.loop,
            options=self.options,
        )

    def send_changelog(
        self,
        partition: int | None,
        key: Any,
        value: Any,
        key_serializer: Any = None,
        value_serializer: Any = None,
    ) -> FutureMessage:
        sent: FutureMessage = super().send_changelog(
            partition, key, value, key_serializer, value_serializer
        )
        written = sent.message.partition  # final: Faust partitions changelog sends eagerly
        store: Any = self.data
        if isinstance(store, _RocksDBStore):
            return sent
        partition_of = store._key_partition  # the memory store's
        if value is None:  # a tombstone: the key is gone
            partition_of.pop(key, None)
        elif written is not None:
            partition_of[key] = written
        return sent

    def put(self, key: bytes, value: bytes, partition: int) -> None:
        """`self[key] = value`, its changelog record on `partition`: for writes made after the
        event that called for them, outside its stream iteration (a batch's, once Kafka has
        acknowledged what the batch sent), where Faust has no current event to take it from."""
        self.send_changelog(partition, key, value)
        store: Any = self.data
        if isinstance(store, _RocksDBStore):
            store.put_at(key, value, partition)
        else:
            store[key] = value


def put(
    table: MutableMapping[bytes, bytes], key: bytes, value: bytes, partition: int | None
) -> None:
    """`table[key] = value`, on the changelog `partition` when it is a Faust table of ours and
    the partition is known (a dict in tests just takes it)."""
    if isinstance(table, _BytesTable) and partition is not None:
        table.put(key, value, partition)
    else:
        table[key] = value


def bytes_table(app: Any, name: str, partitions: int) -> Any:
    """A table whose keys and values are stored as given, with a raw changelog."""
    table = app.tables.add(
        _BytesTable(
            app,
            name=name,
            beacon=app.tables.beacon,
            partitions=partitions,
            key_type=bytes,
            value_type=bytes,
        )
    )
    # Faust derives "json" from plain types; raw keeps keys and values byte-identical on recovery.
    table.key_serializer = "raw"
    table.value_serializer = "raw"
    return table


def held_pairs(table: Any, held: Iterable[int]) -> dict[int, list[Pair]]:
    """A bytes table's (key, value) pairs in each of the changelog partitions `held`, as this
    worker's store keeps them (empty lists for partitions it has nothing of)."""
    store = table.data
    if isinstance(store, _RocksDBStore):
        return {partition: list(store.partition_items(partition)) for partition in held}
    grouped: dict[int, list[Pair]] = {partition: [] for partition in held}
    for key, value in store.data.items():
        partition = store._key_partition.get(key)
        if partition in grouped:
            grouped[partition].append((key, value))
    return grouped
