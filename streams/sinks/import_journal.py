"""The import journal: each import the batch lane starts is written down, with the partitions of
the writes topic its commands came from, before it is polled, and marked ended after; a writer
about to write commands from a partition first waits for any import another writer started from
it and never saw end (see `schemas.dotdigital.journals.imports` for why).

It lives on `cartwright.imports.v1`, a journal (`streams.sinks.journal`) every worker reads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from connectors.clock import Sleep
from connectors.dotdigital.client import DotdigitalClient
from connectors.dotdigital.imports import ImportHooks
from connectors.errors import RetriableError, SkippableError
from schemas.contract.topics import IMPORTS
from schemas.dotdigital.journals.imports import (
    ImportEntry,
    ImportKind,
    ImportMark,
    left_behind,
    unended,
)
from streams.sinks.journal import Journal, KafkaJournal, MemoryJournal, SharedReads

log = logging.getLogger(__name__)

# A worker that died left its last entries at least a broker session before its partitions
# reach another worker, so a read of the journal begun this recently has them.
FRESH_ENOUGH_SECONDS = 1.0
# How long an import nobody polls may take to end on its own, counted from just before it was
# asked for: what a successor waits when its owner died before learning the import's id.
UNPOLLED_IMPORT_SECONDS = 30.0


def import_journal(bootstrap: str, topic: Any) -> KafkaJournal[ImportEntry]:
    """The journal's marks on `cartwright.imports.v1`, keyed by attempt."""
    return KafkaJournal(
        bootstrap, topic, ImportEntry, name=IMPORTS, key=lambda entry: entry.attempt
    )


class ImportJournal:
    """One writer's view of the journal: its own marks, and the imports others left running."""

    def __init__(
        self,
        journal: Journal[ImportEntry] | None = None,
        *,
        owner: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        unpolled_import_seconds: float = UNPOLLED_IMPORT_SECONDS,
    ) -> None:
        self._journal: Journal[ImportEntry] = journal or MemoryJournal()
        self.owner = owner or uuid4().hex
        self._now = now
        self._sleep = sleep
        self._unpolled = timedelta(seconds=unpolled_import_seconds)
        self._running: dict[str, ImportEntry] = {}
        self._reads = SharedReads(self._journal, self._keep, clock=clock)

    def _keep(self, entries: list[ImportEntry]) -> None:
        self._running = unended(self._running, entries)

    async def clear(
        self, client: DotdigitalClient, partitions: Collection[int], *, poll_interval: float
    ) -> None:
        """Return once no import another writer started from `partitions` can still land."""
        await self._reads.since(FRESH_ENOUGH_SECONDS)
        for entry in left_behind(self._running, partitions, self.owner):
            log.warning(
                "waiting for an import another worker left running (%s) before writing after it",
                entry.import_id or "its id never learnt",
                extra={"kind": entry.kind.value, "partitions": entry.partitions},
            )
            if entry.import_id is None:
                status = await self._outlast(entry)
            else:
                status = await self._poll(client, entry.kind, entry.import_id, poll_interval)
            log.info(
                "the import another worker left running (%s) ended: %s",
                entry.import_id or "its id never learnt",
                status,
            )
            await self.mark(entry, ImportMark.ENDED)

    async def _poll(
        self, client: DotdigitalClient, kind: ImportKind, import_id: str, poll_interval: float
    ) -> str:
        try:
            return await client.await_import(kind, import_id, poll_interval=poll_interval)
        except (RetriableError, SkippableError) as exc:
            # Still running after the import timeout: waiting longer holds the lane back.
            return f"not ended ({exc})"

    async def _outlast(self, entry: ImportEntry) -> str:
        """Its owner died between asking for it and learning its id: nobody can poll it, so wait
        until an import nobody polls has surely ended on its own."""
        left = (entry.at + self._unpolled - self._now()).total_seconds()
        if left > 0:
            await self._sleep(left)
        return f"outlasted, {self._unpolled.total_seconds():.0f} s after it was asked for"

    def hooks(self, kind: ImportKind, partitions: Collection[int]) -> ImportHooks:
        """What an import from `partitions` tells the journal: starting, started, ended."""
        return _Marks(self, kind, sorted(partitions))

    async def mark(self, entry: ImportEntry, mark: ImportMark) -> None:
        """Append `entry` with `mark` (and this writer as its author) and keep it."""
        marked = entry.model_copy(update={"mark": mark, "owner": self.owner, "at": self._now()})
        await self._journal.append(marked)
        self._keep([marked])

    def entry(self, kind: ImportKind, partitions: list[int]) -> ImportEntry:
        """A new attempt's first mark."""
        return ImportEntry(
            attempt=uuid4().hex,
            kind=kind,
            mark=ImportMark.STARTING,
            partitions=partitions,
            owner=self.owner,
            at=self._now(),
        )


class _Marks:
    """One import's marks; the lane may try it again (a failed import), each try a new attempt."""

    def __init__(self, journal: ImportJournal, kind: ImportKind, partitions: list[int]) -> None:
        self._journal = journal
        self._kind = kind
        self._partitions = partitions
        self._attempt: ImportEntry | None = None

    async def starting(self) -> None:
        self._attempt = self._journal.entry(self._kind, self._partitions)
        await self._journal.mark(self._attempt, ImportMark.STARTING)

    async def started(self, import_id: str) -> None:
        assert self._attempt is not None, "started before starting"
        self._attempt = self._attempt.model_copy(update={"import_id": import_id})
        await self._journal.mark(self._attempt, ImportMark.STARTED)

    async def ended(self) -> None:
        assert self._attempt is not None, "ended before starting"
        await self._journal.mark(self._attempt, ImportMark.ENDED)
