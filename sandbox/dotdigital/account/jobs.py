"""Asynchronous import jobs: NotFinished for a while, then Finished (or Failed) with a report."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.dotdigital.account.contact import (
    SUPPRESSED_STATUSES,
    ContactRejected,
    InvalidEmail,
    MergeOption,
    parse_change,
)
from sandbox.dotdigital.account.insight import Collection, Verdict
from sandbox.dotdigital.account.store import ContactStore

_ID_NAMESPACE = uuid.UUID("6f1d3c1e-2b7a-4f39-9a57-0c5b1d2e8a10")

Report = dict[str, Any]


class JobKind(StrEnum):
    CONTACTS = "contacts"
    INSIGHT = "insight"


class JobStatus(StrEnum):
    NOT_FINISHED = "NotFinished"
    FINISHED = "Finished"
    COMPLETE = "Complete"  # the insight spec's word for Finished
    FAILED = "Failed"
    # Contact imports only: the batch was refused, or the account's contact allowance is spent.
    REJECTED_BY_WATCHDOG = "RejectedByWatchdog"
    EXCEEDS_ALLOWED_CONTACT_LIMIT = "ExceedsAllowedContactLimit"


FAILURE_STATUSES = frozenset(
    {JobStatus.FAILED, JobStatus.REJECTED_BY_WATCHDOG, JobStatus.EXCEEDS_ALLOWED_CONTACT_LIMIT}
)


class TooManyActiveImports(RuntimeError):
    """The account already runs as many imports of this kind as it may."""


@dataclass
class ImportJob:
    """One submitted import. `finish` applies it and returns the report's body fields."""

    import_id: str
    kind: JobKind
    submitted: float
    finish: Callable[[], Report]
    header: Report = field(default_factory=dict)
    status: JobStatus = JobStatus.NOT_FINISHED
    polls: int = 0
    report: Report = field(default_factory=dict)
    asked: float | None = None  # when a status call last asked (None: never)

    def body(self) -> Report:
        """What `GET …/import/{id}` answers now."""
        return {
            "importId": self.import_id,
            "status": self.status.value,
            **self.header,
            **self.report,
        }


class ImportBoard:
    """Running and finished imports of both kinds, with the per-kind concurrency caps.

    A job ends with `failure` when one is given (`Failed` for insight imports, which know no
    other failure), else with its kind's finished status (`Finished` unless told `Complete`).
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        polls_before_finished: int,
        seconds_before_finished: float | None,
        max_active: Mapping[JobKind, int],
        finished_status: Mapping[JobKind, JobStatus] | None = None,
        unpolled_finish_after: float = 10.0,
    ) -> None:
        self._clock = clock
        self._polls = polls_before_finished
        self._seconds = seconds_before_finished
        self._unpolled = unpolled_finish_after
        self._max_active = dict(max_active)
        self._finished = {kind: JobStatus.FINISHED for kind in JobKind} | dict(
            finished_status or {}
        )
        for kind, status in self._finished.items():
            if status not in {JobStatus.FINISHED, JobStatus.COMPLETE}:
                raise ValueError(f"{kind.value} imports cannot finish as {status.value}")
        self._jobs: dict[str, ImportJob] = {}
        self._running: dict[str, ImportJob] = {}
        self._count = 0
        # Imports accepted, per insight collection (contact imports under "contacts").
        self.submitted: dict[str, int] = {}

    def active(self, kind: JobKind) -> int:
        return sum(1 for j in self._running.values() if j.kind is kind)

    def has_room(self, kind: JobKind) -> bool:
        """Whether one more import of this kind may start."""
        return self.active(kind) < self._max_active[kind]

    def submit(self, kind: JobKind, finish: Callable[[], Report], header: Report) -> ImportJob:
        """Queue a job; TooManyActiveImports when the kind's cap is reached."""
        if not self.has_room(kind):
            raise TooManyActiveImports(kind.value)
        self._count += 1
        import_id = str(uuid.uuid5(_ID_NAMESPACE, f"{kind.value}-{self._count}"))
        job = ImportJob(import_id, kind, self._clock(), finish, header)
        into = str(header.get("collectionName", kind.value))
        self.submitted[into] = self.submitted.get(into, 0) + 1
        self._jobs[import_id] = job
        self._running[import_id] = job
        return job

    def poll(self, kind: JobKind, import_id: str, *, failure: JobStatus | None) -> ImportJob | None:
        """The job as a status call sees it; each NotFinished answer counts as one poll."""
        job = self._jobs.get(import_id)
        if job is None or job.kind is not kind:
            return None
        if job.import_id in self._running:
            job.asked = self._clock()
            if self._due(job):
                self._end(job, failure=failure)
            else:
                job.polls += 1
        return job

    def tick(self, *, failure: JobStatus | None) -> None:
        """Finish every job whose time has come: in time-based mode, and in poll-based mode a job
        nobody has polled for a while (its client died after submitting it): Dotdigital's imports run to their
        end whether or not anyone asks, and an orphan must not hold a concurrency slot forever."""
        for job in [j for j in self._running.values() if self._due(j) or self._orphaned(j)]:
            self._end(job, failure=failure)

    def finish_all(self, *, failure: JobStatus | None) -> int:
        """Finish every running job now; returns how many."""
        running = list(self._running.values())
        for job in running:
            self._end(job, failure=failure)
        return len(running)

    def _orphaned(self, job: ImportJob) -> bool:
        """Nobody has asked about it for `unpolled_finish_after` seconds."""
        last = job.submitted if job.asked is None else job.asked
        return self._clock() - last >= self._unpolled

    def _due(self, job: ImportJob) -> bool:
        if self._seconds is not None:
            return self._clock() - job.submitted >= self._seconds
        return job.polls >= self._polls

    def _end(self, job: ImportJob, *, failure: JobStatus | None) -> None:
        del self._running[job.import_id]
        if failure is None:
            job.report = job.finish()
            job.status = self._finished[job.kind]
        elif failure not in FAILURE_STATUSES:
            raise ValueError(f"{failure.value} is not a failure status")
        else:
            job.status = failure if job.kind is JobKind.CONTACTS else JobStatus.FAILED


def contact_import(store: ContactStore, rows: Sequence[object], option: MergeOption) -> Report:
    """Apply a contact import's rows; returns summary, created, updated and failures."""
    created: list[Report] = []
    updated: list[Report] = []
    failures: list[Report] = []
    summary = dict.fromkeys(
        (
            "newContacts",
            "updatedContacts",
            "globallySuppressed",
            "invalidEntries",
            "duplicateIdentifiers",
        ),
        0,
    )
    seen: set[str] = set()
    for row in rows:
        body: Mapping[str, Any] = row if isinstance(row, dict) else {}
        identifiers = body.get("identifiers")
        try:
            change = parse_change(body)
            if change.email is None:
                raise InvalidEmail("identifiers.email", "An email identifier is required.")
        except ContactRejected as rejected:
            summary["invalidEntries"] += 1
            code = "invalidEmail" if isinstance(rejected, InvalidEmail) else "invalidEntry"
            failures.append(
                {
                    "matchIdentifier": body.get("matchIdentifier", "email"),
                    "identifiers": identifiers if isinstance(identifiers, dict) else {},
                    "failures": [{"failureCode": code, "description": rejected.description}],
                }
            )
            continue
        if change.email in seen:
            summary["duplicateIdentifiers"] += 1
            continue
        seen.add(change.email)
        existing = store.get(change.email)
        if existing is not None and existing.status in SUPPRESSED_STATUSES:
            summary["globallySuppressed"] += 1
            continue
        contact, was_created = store.upsert(change.email, change, option)
        entry = {"contactId": contact.contact_id, "identifiers": {"email": contact.email}}
        (created if was_created else updated).append(entry)
        summary["newContacts" if was_created else "updatedContacts"] += 1
    return {"summary": summary, "created": created, "updated": updated, "failures": failures}


def insight_import(collection: Collection, verdicts: Sequence[Verdict], now: float) -> Report:
    """Store the accepted records of an insight import (judged at submit) and report on all."""
    failures = [
        {
            "key": v.key,
            "failureReason": v.problem.reason.value,
            "details": [{"item": v.problem.path, "description": v.problem.reason.value}],
            "collectionOwner": v.owner_label,
        }
        for v in verdicts
        if v.problem is not None
    ]
    for v in verdicts:
        if v.problem is None:
            collection.put(v.owner, v.key, v.doc, now)
    return {
        "summary": {
            "totalRecords": len(verdicts),
            "totalImported": len(verdicts) - len(failures),
            "totalRejected": len(failures),
        },
        "failures": failures,
    }
