"""Faust tables of bytes: the values are our own pydantic JSON, kept in memory (Tansu-safe)."""

from __future__ import annotations

from typing import Any

import faust
from faust.types import FutureMessage


class _BytesTable(faust.Table[bytes, bytes]):
    """A Faust table that remembers, for every key, the changelog partition it was last
    written to: Faust's memory store knows that only for keys it recovered, and a write's
    partition is its source event's, not the key's hash (an order lives with its buyer's email).
    Knowing it for every key lets the store forget the keys of partitions this worker no longer
    holds after a rebalance, as it already does for recovered ones, and lets `/ops/tables`
    digest each partition (streams/ops/table_digest.py)."""

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
        store: Any = self.data  # the memory store (faust_options: store=memory://)
        partition_of = store._key_partition
        if value is None:  # a tombstone: the key is gone
            partition_of.pop(key, None)
        elif written is not None:
            partition_of[key] = written
        return sent


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
