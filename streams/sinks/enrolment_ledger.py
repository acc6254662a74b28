"""The enrolment ledger: each enrolment (contact, program, trigger subject) claimed, durably,
before its call to Dotdigital and marked done after it, so no redelivery, replay or crash enrols
anyone twice.

It lives on `cartwright.enrolments.v1`, not in a Faust table: on the embedded broker a table's
recovery trusts an end offset that is one batch too low and can lose the last update, which here
is exactly the claim a crash left behind. The ledger reads its topic to the true end instead
(`streams.runtime.catch_up`), before every batch that enrols anyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson
from pydantic import ValidationError

from connectors.errors import SkippableError
from connectors.privacy import mask_email
from schemas.contract.topics import ENROLMENTS
from schemas.dotdigital.enrolment_ledger import Enrolment, LedgerEntry, Mark, Sorting
from schemas.dotdigital.enrolment_ledger import sort_enrolments as sort_marks
from streams.runtime.catch_up import Record, read_to_end

log = logging.getLogger(__name__)

T = TypeVar("T")


class LedgerJournal(Protocol):
    """Where the marks are kept: `append` returns once the mark is durable."""

    async def append(self, entry: LedgerEntry) -> None: ...

    async def read_new(self) -> list[LedgerEntry]: ...


class MemoryJournal:
    """Marks kept in this process only (a worker without a broker: tests, tools)."""

    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []

    async def append(self, entry: LedgerEntry) -> None:
        self.entries.append(entry)

    async def read_new(self) -> list[LedgerEntry]:
        return []  # everything appended here is already in the ledger's memory


class KafkaJournal:
    """Marks on the ledger topic: sent through the worker's producer and awaited until the broker
    acknowledged them; read back from where the last read ended, to the topic's true end."""

    def __init__(
        self,
        bootstrap: str,
        topic: Any,
        *,
        name: str = ENROLMENTS,
        fetch_max_wait_ms: int = 50,
    ) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._name = name
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._positions: dict[int, int] = {}

    async def append(self, entry: LedgerEntry) -> None:
        sent = await self._topic.send(
            key=entry.email.encode(), value=orjson.dumps(entry.model_dump(mode="json"))
        )
        await sent

    async def read_new(self) -> list[LedgerEntry]:
        entries: list[LedgerEntry] = []

        def keep(record: Record) -> None:
            try:
                entries.append(LedgerEntry.model_validate_json(record.value or b""))
            except ValidationError:
                log.warning(
                    "unreadable enrolment ledger entry",
                    extra={"topic": self._name, "partition": record.partition},
                )

        ends = await read_to_end(
            self._bootstrap,
            self._name,
            keep,
            start=self._positions,
            fetch_max_wait_ms=self._fetch_max_wait_ms,
        )
        self._positions.update(ends)
        return entries


class EnrolmentLedger:
    """The marks of every enrolment, read from the journal and kept in memory."""

    def __init__(
        self,
        journal: LedgerJournal | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._journal = journal or MemoryJournal()
        self._now = now
        self._marks: dict[Enrolment, Mark] = {}
        self._reading = asyncio.Lock()
        self._reads_begun = 0
        self._reads_done = 0  # reads go one at a time, so they end in the order they began

    async def sort(self, enrolments: Sequence[Enrolment]) -> Sorting:
        """Read what others (or this worker before a crash) marked, then sort `enrolments`.

        A read that began after this call saw every mark durable before it, so callers that
        waited while one read ran share the next read instead of reading once each (a read to
        the broker's true end takes a few fetch waits: one each would cap enrolments at a few a
        second)."""
        needed = self._reads_begun + 1
        async with self._reading:
            if self._reads_done < needed:
                self._reads_begun += 1
                for entry in await self._journal.read_new():
                    self._marks[entry.enrolment] = entry.mark
                self._reads_done = self._reads_begun
        return sort_marks({e: self._marks.get(e) for e in dict.fromkeys(enrolments)})

    async def mark(self, enrolments: Sequence[Enrolment], mark: Mark, event_id: str) -> None:
        """Append `mark` for each enrolment; returns once all are durable."""
        for enrolment in enrolments:
            await self._journal.append(
                LedgerEntry(
                    email=enrolment.email,
                    program_id=enrolment.program_id,
                    subject=enrolment.subject,
                    mark=mark,
                    source_event_id=event_id,
                    at=self._now(),
                )
            )
            self._marks[enrolment] = mark

    async def once(
        self, enrolments: Sequence[Enrolment], event_id: str, call: Callable[[], Awaitable[T]]
    ) -> T:
        """Claim, call, mark done. Dotdigital's refusal for good releases the claim (nobody was
        enrolled); a crash, a stop or a refused account leaves it claimed, which is what keeps a
        redelivery from calling again without an operator's look."""
        await self.mark(enrolments, Mark.CLAIMED, event_id)
        try:
            result = await call()
        except SkippableError:
            await self.mark(enrolments, Mark.RELEASED, event_id)
            raise
        await self.mark(enrolments, Mark.DONE, event_id)
        return result


def interrupted(enrolment: Enrolment) -> str:
    """What the exception record says about an enrolment a crash interrupted."""
    return (
        f"enrolment of {mask_email(enrolment.email)} into program {enrolment.program_id} for "
        f"{enrolment.subject} was claimed before a restart and never confirmed: not sent again, "
        "so nobody is enrolled twice; check the program in Dotdigital and enrol them by hand if "
        "they are missing"
    )
