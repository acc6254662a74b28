"""The import journal's entries: each Dotdigital import the batch lane started, and its end.

Dotdigital runs an import to its end whether or not anyone polls it, and has no conditional
write. A worker killed while polling leaves its import running; the worker that re-reads the
same uncommitted commands imports their newer state, and the orphan, landing after it, would
put the older state back. So each import is written down before it is polled, with the writes
topic's partitions its commands came from, and whoever imports from those partitions next waits
for a dead owner's import to end first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class ImportKind(StrEnum):
    CONTACTS = "contacts"
    INSIGHT = "insight"


class ImportMark(StrEnum):
    STARTED = "started"  # Dotdigital answered with the import's id; nobody knows its end yet
    ENDED = "ended"  # its report said finished or failed: it changes nothing any more


class ImportEntry(BaseModel):
    """`cartwright.imports.v1` (key: the import id): one mark of one import."""

    schema_version: int = 1
    import_id: str
    kind: ImportKind
    mark: ImportMark
    partitions: list[int] = Field(
        default_factory=list,
        description="the partitions of dotdigital.writes.v1 the import's commands came from",
    )
    owner: str = Field(description="the writer that started it: one per worker run")
    at: datetime


def unended(
    running: Mapping[str, ImportEntry], entries: Iterable[ImportEntry]
) -> dict[str, ImportEntry]:
    """`running` (import id → its start) after `entries`, in the journal's order."""
    after = dict(running)
    for entry in entries:
        if entry.mark is ImportMark.STARTED:
            after[entry.import_id] = entry
        else:
            after.pop(entry.import_id, None)
    return after


def left_behind(
    running: Mapping[str, ImportEntry], partitions: Collection[int], owner: str
) -> list[ImportEntry]:
    """The imports another writer started from any of `partitions` and never saw end: an
    import from these partitions must wait for them, or it may land before them."""
    return [
        entry
        for entry in running.values()
        if entry.owner != owner and not set(entry.partitions).isdisjoint(partitions)
    ]
