"""The import journal's entries: each Dotdigital import the batch lane started, and its end.

Dotdigital runs an import to its end whether or not anyone polls it, and has no conditional
write. A worker killed while polling leaves its import running; the worker that re-reads the
same uncommitted commands imports their newer state, and the orphan, landing after it, would
put the older state back. So each import is written down before it is asked for and again with
its id before it is polled, with the writes topic's partitions its commands came from, and
whoever writes from those partitions next waits for a dead owner's import to end first: by
polling it, or, when the owner died before it learnt the id, for as long as an import nobody
polls may take.
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
    STARTING = "starting"  # about to ask Dotdigital: an import may exist whose id nobody knows
    STARTED = "started"  # Dotdigital answered with the import's id; nobody knows its end yet
    ENDED = "ended"  # its report said finished or failed (or it never started): nothing to wait for


class ImportEntry(BaseModel):
    """`cartwright.imports.v1` (key: the attempt): one mark of one attempt at an import."""

    schema_version: int = 1
    attempt: str = Field(description="the writer's own id for the attempt, known before the call")
    import_id: str | None = Field(default=None, description="Dotdigital's id, once it answered")
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
    """`running` (attempt → its latest mark) after `entries`, in the journal's order."""
    after = dict(running)
    for entry in entries:
        if entry.mark is ImportMark.ENDED:
            after.pop(entry.attempt, None)
        else:
            after[entry.attempt] = entry
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
