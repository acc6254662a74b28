"""Table digests computed from the changelog topics themselves, to hold a worker's `/ops/tables`
against: each `<app_id>-<table>-changelog` read to its true end, last value per key, tombstones
remove."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from streams.ops.table_digest import PartitionDigest, digest
from streams.runtime.catch_up import Record, read_to_end

TABLES = ("order_facts", "contacts", "orders")


async def _changelog(bootstrap: str, topic: str) -> dict[int, PartitionDigest]:
    latest: dict[int, dict[bytes, bytes]] = {}

    def keep(record: Record) -> None:
        partition = latest.setdefault(record.partition, {})
        key = record.key or b""
        if record.value is None:
            partition.pop(key, None)
        else:
            partition[key] = record.value

    ends = await read_to_end(bootstrap, topic, keep)
    return {p: digest(latest.get(p, {}).items()) for p in sorted(ends)}


def changelog_digests(
    bootstrap: str, app_id: str = "cartwright", tables: tuple[str, ...] = TABLES
) -> dict[str, dict[int, PartitionDigest]]:
    """Per table, per changelog partition: the digest of what recovery would rebuild."""

    async def all_tables() -> dict[str, dict[int, PartitionDigest]]:
        found = [await _changelog(bootstrap, f"{app_id}-{t}-changelog") for t in tables]
        return dict(zip(tables, found, strict=True))

    return asyncio.run(all_tables())


def worker_digests(url: str) -> dict[str, dict[int, PartitionDigest]] | None:
    """A worker's `/ops/tables` as digests, or None while it is down or still recovering."""
    try:
        body: dict[str, Any] = httpx.get(f"{url}/ops/tables", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return None
    if not body.get("ready"):
        return None
    return {
        name: {int(p): PartitionDigest(**d) for p, d in table["partitions"].items()}
        for name, table in body["tables"].items()
    }
