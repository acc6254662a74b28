"""The import journal: each import the batch lane starts is written down, with the partitions of
the writes topic its commands came from, before it is polled, and marked ended after; a writer
about to write commands from a partition first waits for any import another writer started from
it and never saw end (see `schemas.dotdigital.journals.imports` for why).

It lives on `cartwright.imports.v1`, a journal (`streams.sinks.journal`) every worker reads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

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


def import_journal(bootstrap: str, topic: Any) -> KafkaJournal[ImportEntry]:
    """The journal's marks on `cartwright.imports.v1`, keyed by import id."""
    return KafkaJournal(
        bootstrap, topic, ImportEntry, name=IMPORTS, key=lambda entry: entry.import_id
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
    ) -> None:
        self._journal: Journal[ImportEntry] = journal or MemoryJournal()
        self.owner = owner or uuid4().hex
        self._now = now
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
                "waiting for an import another worker left running before writing after it",
                extra={
                    "import": entry.import_id,
                    "kind": entry.kind.value,
                    "partitions": entry.partitions,
                },
            )
            try:
                status = await client.await_import(
                    entry.kind, entry.import_id, poll_interval=poll_interval
                )
            except (RetriableError, SkippableError) as exc:
                # Still running after the import timeout: waiting longer holds the lane back.
                status = f"not ended ({exc})"
            log.info(
                "the import another worker left running ended",
                extra={"import": entry.import_id, "status": status},
            )
            await self.mark(entry.import_id, entry.kind, ImportMark.ENDED, entry.partitions)

    def hooks(self, kind: ImportKind, partitions: Collection[int]) -> ImportHooks:
        """What an import from `partitions` tells the journal: started, then ended."""
        return _Marks(self, kind, sorted(partitions))

    async def mark(
        self, import_id: str, kind: ImportKind, mark: ImportMark, partitions: list[int]
    ) -> None:
        entry = ImportEntry(
            import_id=import_id,
            kind=kind,
            mark=mark,
            partitions=partitions,
            owner=self.owner,
            at=self._now(),
        )
        await self._journal.append(entry)
        self._keep([entry])


class _Marks:
    def __init__(self, journal: ImportJournal, kind: ImportKind, partitions: list[int]) -> None:
        self._journal = journal
        self._kind = kind
        self._partitions = partitions

    async def started(self, import_id: str) -> None:
        await self._journal.mark(import_id, self._kind, ImportMark.STARTED, self._partitions)

    async def ended(self, import_id: str) -> None:
        await self._journal.mark(import_id, self._kind, ImportMark.ENDED, self._partitions)
