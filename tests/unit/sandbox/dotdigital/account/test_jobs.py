"""Import jobs: their lifecycle, concurrency caps, and what contact and insight imports report."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.dotdigital.account.contact import ContactChange, MergeOption
from sandbox.dotdigital.account.insight import Collection, judge_record
from sandbox.dotdigital.account.jobs import (
    ImportBoard,
    JobKind,
    JobStatus,
    TooManyActiveImports,
    contact_import,
    insight_import,
)
from sandbox.dotdigital.account.store import ContactStore
from tests.support.dotdigital import START
from tests.support.faketime import FakeTime


class Applied:
    """A finish callback that counts how often it ran."""

    def __init__(self) -> None:
        self.times = 0

    def __call__(self) -> dict[str, Any]:
        self.times += 1
        return {"summary": {"done": self.times}}


def board(
    clock: FakeTime, polls: int = 1, seconds: float | None = None, cap: int = 2
) -> ImportBoard:
    return ImportBoard(
        clock.wall_clock,
        polls_before_finished=polls,
        seconds_before_finished=seconds,
        max_active={JobKind.CONTACTS: cap, JobKind.INSIGHT: cap},
    )


def test_job_answers_not_finished_for_the_configured_polls_then_applies_once() -> None:
    jobs = board(FakeTime(wall=START), polls=2)
    applied = Applied()
    job = jobs.submit(JobKind.INSIGHT, applied, {"collectionName": "Orders"})
    statuses = []
    for _ in range(4):
        polled = jobs.poll(JobKind.INSIGHT, job.import_id, failure=None)
        assert polled is job
        statuses.append(job.status)
    assert statuses == [
        JobStatus.NOT_FINISHED,
        JobStatus.NOT_FINISHED,
        JobStatus.FINISHED,
        JobStatus.FINISHED,
    ]
    assert applied.times == 1
    assert job.body() == {
        "importId": job.import_id,
        "status": "Finished",
        "collectionName": "Orders",
        "summary": {"done": 1},
    }


def test_time_based_jobs_finish_on_tick_without_polls() -> None:
    clock = FakeTime(wall=START)
    jobs = board(clock, seconds=30)
    applied = Applied()
    jobs.submit(JobKind.CONTACTS, applied, {})
    jobs.tick(failure=None)
    clock.advance(30)
    jobs.tick(failure=None)
    assert applied.times == 1
    assert jobs.active(JobKind.CONTACTS) == 0


def test_the_cap_counts_only_running_jobs_of_one_kind() -> None:
    jobs = board(FakeTime(wall=START), polls=0, cap=1)
    first = jobs.submit(JobKind.CONTACTS, Applied(), {})
    jobs.submit(JobKind.INSIGHT, Applied(), {})
    with pytest.raises(TooManyActiveImports):
        jobs.submit(JobKind.CONTACTS, Applied(), {})
    jobs.poll(JobKind.CONTACTS, first.import_id, failure=None)
    assert jobs.has_room(JobKind.CONTACTS)


def test_failing_imports_end_failed_without_applying() -> None:
    jobs = board(FakeTime(wall=START), polls=0)
    applied = Applied()
    job = jobs.submit(JobKind.INSIGHT, applied, {})
    polled = jobs.poll(JobKind.INSIGHT, job.import_id, failure=JobStatus.FAILED)
    assert polled is not None
    assert polled.status is JobStatus.FAILED
    assert applied.times == 0


@pytest.mark.parametrize(
    "failure", [JobStatus.REJECTED_BY_WATCHDOG, JobStatus.EXCEEDS_ALLOWED_CONTACT_LIMIT]
)
def test_contact_imports_can_end_in_each_failure_status_insight_ones_only_failed(
    failure: JobStatus,
) -> None:
    jobs = board(FakeTime(wall=START), polls=0)
    applied = Applied()
    contacts = jobs.submit(JobKind.CONTACTS, applied, {})
    insight = jobs.submit(JobKind.INSIGHT, applied, {})
    assert jobs.finish_all(failure=failure) == 2
    assert (contacts.status, insight.status) == (failure, JobStatus.FAILED)
    assert contacts.body() == {"importId": contacts.import_id, "status": failure.value}
    assert applied.times == 0


def test_insight_imports_can_be_told_to_finish_as_complete() -> None:
    jobs = ImportBoard(
        FakeTime(wall=START).wall_clock,
        polls_before_finished=0,
        seconds_before_finished=None,
        max_active={JobKind.CONTACTS: 1, JobKind.INSIGHT: 1},
        finished_status={JobKind.INSIGHT: JobStatus.COMPLETE},
    )
    insight = jobs.submit(JobKind.INSIGHT, Applied(), {})
    contacts = jobs.submit(JobKind.CONTACTS, Applied(), {})
    jobs.finish_all(failure=None)
    assert (insight.status, contacts.status) == (JobStatus.COMPLETE, JobStatus.FINISHED)


def test_a_job_cannot_finish_or_fail_in_a_status_of_the_wrong_kind() -> None:
    with pytest.raises(ValueError, match="cannot finish as Failed"):
        ImportBoard(
            FakeTime(wall=START).wall_clock,
            polls_before_finished=0,
            seconds_before_finished=None,
            max_active={JobKind.CONTACTS: 1, JobKind.INSIGHT: 1},
            finished_status={JobKind.CONTACTS: JobStatus.FAILED},
        )
    jobs = board(FakeTime(wall=START), polls=0)
    jobs.submit(JobKind.CONTACTS, Applied(), {})
    with pytest.raises(ValueError, match="not a failure status"):
        jobs.finish_all(failure=JobStatus.FINISHED)


def test_unknown_or_other_kind_ids_are_not_found() -> None:
    jobs = board(FakeTime(wall=START))
    job = jobs.submit(JobKind.INSIGHT, Applied(), {})
    assert jobs.poll(JobKind.CONTACTS, job.import_id, failure=None) is None
    assert jobs.poll(JobKind.INSIGHT, "nope", failure=None) is None


def test_finish_all_ends_every_running_job() -> None:
    jobs = board(FakeTime(wall=START), polls=100)
    for _ in range(2):
        jobs.submit(JobKind.INSIGHT, Applied(), {})
    assert jobs.finish_all(failure=None) == 2
    assert jobs.active(JobKind.INSIGHT) == 0


def test_contact_import_reports_created_updated_invalid_duplicate_and_suppressed() -> None:
    store = ContactStore(FakeTime(wall=START).wall_clock)
    store.upsert("old@example.com", ContactChange(), MergeOption.OVERWRITE)
    store.force_status("bounced@example.com", "hardBounced")
    rows = [
        {"identifiers": {"email": "new@example.com"}, "dataFields": {"A": 1}},
        {"identifiers": {"email": "OLD@example.com"}},
        {"identifiers": {"email": "new@example.com"}},
        {"identifiers": {"email": "not-an-email"}},
        {"identifiers": {"email": "bounced@example.com"}},
        "garbage",
    ]
    report = contact_import(store, rows, MergeOption.OVERWRITE)
    assert report["summary"] == {
        "newContacts": 1,
        "updatedContacts": 1,
        "globallySuppressed": 1,
        "invalidEntries": 2,
        "duplicateIdentifiers": 1,
    }
    assert report["created"] == [{"contactId": 3, "identifiers": {"email": "new@example.com"}}]
    assert [f["failures"][0]["failureCode"] for f in report["failures"]] == [
        "invalidEmail",
        "invalidEmail",
    ]


def test_insight_import_stores_accepted_records_and_reports_the_rest() -> None:
    collection = Collection("Orders", "contact", "orders")
    known = {"ada@example.com": 1}
    raws = [
        {
            "key": "1",
            "contactIdentity": {"identifier": "email", "value": "ada@example.com"},
            "json": {"a": 1},
        },
        {
            "key": "2",
            "contactIdentity": {"identifier": "email", "value": "bo@example.com"},
            "json": {"a": 1},
        },
        {
            "key": "3",
            "contactIdentity": {"identifier": "email", "value": "ada@example.com"},
            "json": {"a b": 1},
        },
    ]
    verdicts = [judge_record(r, "contact", known.get, 1000) for r in raws]
    report = insight_import(collection, verdicts, now=5.0)
    assert report["summary"] == {"totalRecords": 3, "totalImported": 1, "totalRejected": 2}
    assert [(f["key"], f["failureReason"], f["collectionOwner"]) for f in report["failures"]] == [
        ("2", "ContactEmailDoesNotExist", "bo@example.com"),
        ("3", "JsonKeyInvalidCharacters", "ada@example.com"),
    ]
    assert list(collection.records) == [(1, "1")]


def test_an_import_nobody_polls_still_finishes_and_frees_its_slot() -> None:
    clock = FakeTime(wall=START)
    jobs = board(clock, polls=1, cap=1)
    applied = Applied()
    orphan = jobs.submit(JobKind.INSIGHT, applied, {"collectionName": "Orders"})
    assert not jobs.has_room(JobKind.INSIGHT)

    statuses = []
    for step in (9.9, 0.1):
        clock.advance(step)
        jobs.tick(failure=None)
        statuses.append(orphan.status)

    assert statuses == [JobStatus.NOT_FINISHED, JobStatus.FINISHED]
    assert applied.times == 1  # its records were applied, as Dotdigital's would be
    assert jobs.has_room(JobKind.INSIGHT)
