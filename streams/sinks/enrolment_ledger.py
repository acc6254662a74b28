"""The enrolment ledger: each enrolment (contact, program, trigger subject) claimed, durably,
before its call to Dotdigital and marked done after it, so no redelivery, replay or crash enrols
anyone twice.

It lives on `cartwright.enrolments.v1`, a journal (`streams.sinks.journal`: not a Faust table,
whose recovery on the embedded broker could lose the claim a crash left behind), read to its
true end before every batch that enrols anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from connectors.errors import SkippableError
from connectors.privacy import mask_email
from schemas.contract.topics import ENROLMENTS
from schemas.dotdigital.journals.enrolments import Enrolment, LedgerEntry, Mark, Sorting
from schemas.dotdigital.journals.enrolments import sort_enrolments as sort_marks
from streams.sinks.journal import Journal, KafkaJournal, MemoryJournal, SharedReads

log = logging.getLogger(__name__)

T = TypeVar("T")


def ledger_journal(bootstrap: str, topic: Any) -> KafkaJournal[LedgerEntry]:
    """The ledger's marks on `cartwright.enrolments.v1`, keyed by email."""
    return KafkaJournal(
        bootstrap, topic, LedgerEntry, name=ENROLMENTS, key=lambda entry: entry.email
    )


class EnrolmentLedger:
    """The marks of every enrolment, read from the journal and kept in memory."""

    def __init__(
        self,
        journal: Journal[LedgerEntry] | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._journal: Journal[LedgerEntry] = journal or MemoryJournal()
        self._now = now
        self._marks: dict[Enrolment, Mark] = {}
        self._reads = SharedReads(self._journal, self._keep)

    async def sort(self, enrolments: Sequence[Enrolment]) -> Sorting:
        """Read what others (or this worker before a crash) marked, then sort `enrolments`."""
        # One read that started after this call: what others marked until now.
        await self._reads.since()
        return sort_marks({e: self._marks.get(e) for e in dict.fromkeys(enrolments)})

    def _keep(self, entries: list[LedgerEntry]) -> None:
        for entry in entries:
            self._marks[entry.enrolment] = entry.mark

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
