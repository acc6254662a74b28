"""Table digests: per table and partition, how many keys and a sha256 over them, never the data.

Operators compare a worker's tables before and after a restart, or with what the changelog
topics hold, without reading a single email or consent state: the digest is over the sorted
(key, value) byte pairs, each length-prefixed so that no two different tables hash alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streams.runtime.tables import held_pairs


@dataclass(frozen=True)
class PartitionDigest:
    """One table partition as an operator may see it: its size and a fingerprint."""

    keys: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"keys": self.keys, "sha256": self.sha256}


def digest(pairs: Iterable[tuple[bytes, bytes]]) -> PartitionDigest:
    """The digest of a table partition's (key, value) pairs, in any order (keys unique)."""
    ranked = sorted(pairs)
    hasher = hashlib.sha256()
    for key, value in ranked:
        for part in (key, value):
            hasher.update(len(part).to_bytes(8, "big"))
            hasher.update(part)
    return PartitionDigest(len(ranked), hasher.hexdigest())


def held_digests(app: Any) -> dict[str, Any]:
    """Every table of `app`, per partition of its changelog this worker holds actively."""
    actives = app.assignor.assigned_actives()
    tables: dict[str, Any] = {}
    for table in app.tables.values():
        changelog = table.changelog_topic.get_topic_name()
        held = sorted(tp.partition for tp in actives if tp.topic == changelog)
        # Per partition as the store keeps them: the memory store by its key → partition map
        # (streams/runtime/tables.py keeps it for live writes too), RocksDB by its databases.
        partitions = {p: digest(pairs) for p, pairs in sorted(held_pairs(table, held).items())}
        tables[table.name] = {
            "changelog": changelog,
            "partitions": {str(p): d.as_json() for p, d in partitions.items()},
        }
    recovery = app.tables.recovery
    ready = not app.rebalancing and not recovery.in_recovery and recovery.completed.is_set()
    return {"ready": ready, "tables": tables}
