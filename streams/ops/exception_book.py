"""The exceptions an operator reads: the exception topic folded by subject and reason, each
resolved by a later success for its subject on the sink's trail.

No store of its own: `cartwright.exceptions.v1` and `cartwright.trail.v1` keep what an operator
may look at for the incident retention (30 days by default). The exceptions are few (one per
failure); the trail has one record per write, so it is passed over cheaply, and the status page
reads both on from where its last read ended. A table in the worker would hold only its own
partitions' exceptions and be lost to a rebalance.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime

import orjson
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from schemas.contract.incidents import Reason, Severity, SyncException
from schemas.contract.topics import EXCEPTIONS, TRAIL
from schemas.dotdigital.trail import Answer, Written
from schemas.rules.impact import why
from streams.runtime.catch_up import Record, read_to_end
from streams.runtime.incidents import readable

log = logging.getLogger(__name__)

# Reasons that lose nothing: there is no success to wait for.
NOTHING_TO_RESOLVE = frozenset(
    {Reason.UNKNOWN_EVENT_TYPE, Reason.CONSENT_GATE, Reason.GUEST_UNSUBSCRIBE}
)


@dataclass(frozen=True)
class ExceptionRow:
    """One subject's exceptions for one reason: how often, since when, and whether a later
    success for the subject resolved them."""

    subject: str
    reason: Reason
    severity: Severity
    why: str
    impact: str
    first_at: datetime
    last_at: datetime
    times: int
    resolved_at: datetime | None
    email: str | None = None

    @property
    def status(self) -> str:
        """open, resolved (by a later success) or info (nothing was lost)."""
        if self.reason in NOTHING_TO_RESOLVE or self.severity == Severity.INFO:
            return "info"
        return "open" if self.resolved_at is None else "resolved"


@dataclass(frozen=True)
class Query:
    """What `cartwright exceptions` and the status page ask for; None: any."""

    since: datetime | None = None
    reason: Reason | None = None
    severity: Severity | None = None
    subject: str | None = None
    open_only: bool = False
    limit: int = 50


def fold(exceptions: Iterable[SyncException], trail: Iterable[Written]) -> list[ExceptionRow]:
    """Exception records by (subject, reason), the latest first, each resolved by the first
    accepted write for its subject after its last occurrence (for the same email, when both
    name one: masked subjects of two addresses can look alike)."""
    rows: dict[tuple[str, Reason], ExceptionRow] = {}
    for record in sorted(exceptions, key=lambda record: record.at):
        key = (record.subject, record.reason)
        seen = rows.get(key)
        words = why(record.reason, record.message)
        if seen is None:
            rows[key] = ExceptionRow(
                subject=record.subject,
                reason=record.reason,
                severity=record.severity,
                why=words,
                impact=record.campaign_impact,
                first_at=record.at,
                last_at=record.at,
                times=1,
                resolved_at=None,
                email=record.email,
            )
        else:
            rows[key] = replace(
                seen,
                why=words,
                impact=record.campaign_impact,
                last_at=record.at,
                times=seen.times + 1,
                email=seen.email or record.email,
            )
    successes: dict[str, list[Written]] = {}
    for entry in trail:
        if entry.answer == Answer.ACCEPTED:
            successes.setdefault(readable(entry.subject), []).append(entry)
    return sorted(
        (_resolved(row, successes.get(row.subject, ())) for row in rows.values()),
        key=lambda row: row.last_at,
        reverse=True,
    )


def _resolved(row: ExceptionRow, successes: Sequence[Written]) -> ExceptionRow:
    later = [
        entry.at
        for entry in successes
        if entry.at > row.last_at and (row.email is None or entry.email in (None, row.email))
    ]
    return replace(row, resolved_at=min(later)) if later else row


def select(rows: Iterable[ExceptionRow], query: Query) -> list[ExceptionRow]:
    """The rows a query asks for, latest first, at most `query.limit`."""
    wanted = query.subject.lower() if query.subject else None
    chosen = [
        row
        for row in rows
        if (query.since is None or row.last_at >= query.since)
        and (query.reason is None or row.reason == query.reason)
        and (query.severity is None or row.severity == query.severity)
        and (wanted is None or wanted in row.subject.lower() or wanted == (row.email or ""))
        and (not query.open_only or row.status == "open")
    ]
    return chosen[: query.limit]


class ExceptionReader:
    """Both topics, read on from where the last read ended: the exception records so far, and
    the trail's accepted writes for their subjects (a success comes after its exception, so
    the exceptions are read first in each round). Trail records of other subjects, nearly all
    of them, are passed over on their JSON alone, never validated."""

    def __init__(self, bootstrap: str, *, give_up_after: float = 120.0) -> None:
        self._bootstrap = bootstrap
        self._give_up_after = give_up_after
        self._ends: dict[str, dict[int, int] | None] = {EXCEPTIONS: None, TRAIL: None}
        self._records: list[SyncException] = []
        self._subjects: set[str] = set()
        self._successes: list[Written] = []

    async def read(self) -> list[ExceptionRow]:
        """Everything up to the topics' ends now, folded."""
        await self._read_on(EXCEPTIONS, self._keep_exception)
        if self._subjects:
            await self._read_on(TRAIL, self._keep_success)
        return fold(self._records, self._successes)

    async def _read_on(self, topic: str, keep: Callable[[Record], None]) -> None:
        self._ends[topic] = await read_to_end(
            self._bootstrap,
            topic,
            keep,
            start=self._ends[topic],
            give_up_after=self._give_up_after,
        )

    def _keep_exception(self, record: Record) -> None:
        # What is not a v1 exception record is not ours to judge here: the view shows the rest.
        with suppress(ValidationError):
            exception = SyncException.model_validate_json(record.value or b"")
            self._records.append(exception)
            self._subjects.add(exception.subject)

    def _keep_success(self, record: Record) -> None:
        try:
            raw = orjson.loads(record.value or b"")
        except orjson.JSONDecodeError:
            return
        if not isinstance(raw, dict) or raw.get("answer") != Answer.ACCEPTED.value:
            return
        subject = raw.get("subject")
        if not isinstance(subject, str) or readable(subject) not in self._subjects:
            return
        with suppress(ValidationError):
            self._successes.append(Written.model_validate(raw))


async def read_exceptions(bootstrap: str) -> list[ExceptionRow]:
    """Every exception on the topic, folded, with the trail's successes for their subjects."""
    return await ExceptionReader(bootstrap).read()


class LatestExceptions:
    """The status page's exceptions, read from the topics at most every `ttl` seconds and in the
    background: a page is answered from the last complete read while the next one runs, so
    however long the topics take to read, no page waits for more than the first."""

    def __init__(
        self, bootstrap: str, *, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._reader = ExceptionReader(bootstrap)
        self._ttl = ttl
        self._clock = clock
        self._read_at: float | None = None
        self._rows: list[ExceptionRow] = []
        self._reading: asyncio.Task[None] | None = None

    async def __call__(self) -> list[ExceptionRow]:
        stale = self._read_at is None or self._clock() - self._read_at >= self._ttl
        if stale and self._reading is None:
            self._reading = asyncio.create_task(self._read())
        if self._read_at is None and self._reading is not None:
            # Nothing read yet: wait for the first read (the page bounds the wait), without
            # cancelling it when the page gives up.
            await asyncio.shield(self._reading)
        if self._read_at is None:
            raise LookupError("the exception topics could not be read (see the log)")
        return self._rows

    async def _read(self) -> None:
        try:
            self._rows = await self._reader.read()
            self._read_at = self._clock()
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("the exception topics could not be read: %s", type(exc).__name__)
        finally:
            self._reading = None
