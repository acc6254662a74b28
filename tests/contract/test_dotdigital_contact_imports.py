"""v3 bulk contact imports: submit, poll to a report, concurrency cap and failure statuses."""

from __future__ import annotations

import pytest

from connectors.errors import (
    FatalError,
    RateLimited,
    RetriableError,
    SkippableError,
    TooManyImports,
)
from sandbox.dotdigital.account.config import SandboxConfig
from schemas.dotdigital.bodies import ContactUpsert, MergeOption
from tests.support.dotdigital import Dotdigital, sandbox


def contact(email: str, **fields: object) -> ContactUpsert:
    return ContactUpsert(email=email, data_fields=fields)


async def test_import_runs_to_a_report_with_created_updated_and_failures(dd: Dotdigital) -> None:
    existing, _ = await dd.client.upsert_contact(contact("ada@example.com", FIRSTNAME="Ada"))

    report = await dd.client.run_contact_import(
        [
            contact("ada@example.com", FIRSTNAME="Augusta", LASTNAME="King"),
            contact("bo@example.com"),
            contact("not-an-email"),
        ],
        MergeOption.OVERWRITE_IF_EMPTY,
        poll_interval=5,
    )

    assert report.status == "Finished"
    assert report.summary["newContacts"] == 1
    assert report.summary["updatedContacts"] == 1
    assert report.summary["invalidEntries"] == 1
    assert [c["identifiers"]["email"] for c in report.created] == ["bo@example.com"]
    assert report.updated == [
        {"contactId": existing.contact_id, "identifiers": {"email": "ada@example.com"}}
    ]
    [failure] = report.failures
    assert failure.identifiers == {"email": "not-an-email"}
    assert failure.failures[0]["failureCode"] == "invalidEmail"
    # Imports are asynchronous: one NotFinished poll, then the report, each after a wait.
    polls = dd.network.to("GET", "/contacts/v3/import/")
    assert [e.body.count(b"NotFinished") for e in polls] == [1, 0]
    assert dd.time.sleeps == [5, 5]
    ada = await dd.client.get_contact("ada@example.com")
    assert ada is not None
    assert ada.data_fields == {"FIRSTNAME": "Ada", "LASTNAME": "King"}
    assert dd.network.to("PUT", "/contacts/v3/import")[0].status == 202


async def test_the_26th_running_import_is_refused_as_too_many_imports(dd: Dotdigital) -> None:
    for n in range(25):
        await dd.client.start_contact_import([contact(f"c{n}@example.com")])

    with pytest.raises(TooManyImports) as raised:
        await dd.client.start_contact_import([contact("c25@example.com")])

    assert not isinstance(raised.value, RateLimited)
    assert raised.value.status == 429
    assert raised.value.code == "contacts:tooManyActiveImports"
    # Once running imports finish there is room again, and nothing waited for it.
    await dd.admin("imports/finish", {})
    assert await dd.client.start_contact_import([contact("c25@example.com")])
    assert dd.time.sleeps == []


async def test_an_unknown_import_id_is_skippable(dd: Dotdigital) -> None:
    with pytest.raises(SkippableError) as raised:
        await dd.client.contact_import_report("00000000-0000-0000-0000-000000000000")
    assert (raised.value.status, raised.value.code) == (404, "contacts:importNotFound")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("Failed", RetriableError),
        ("RejectedByWatchdog", SkippableError),
        ("ExceedsAllowedContactLimit", FatalError),
    ],
)
async def test_a_failed_import_raises_by_what_the_caller_must_do(
    dd: Dotdigital, status: str, error: type[Exception]
) -> None:
    await dd.faults(fail_imports=True, contact_import_failure=status)
    with pytest.raises(error) as raised:
        await dd.client.run_contact_import([contact("ada@example.com")], poll_interval=1)
    assert type(raised.value) is error
    assert getattr(raised.value, "code", None) == status
    await dd.faults()
    assert await dd.client.get_contact("ada@example.com") is None


async def test_an_import_that_never_finishes_times_out_retriably() -> None:
    async with sandbox(SandboxConfig(import_polls_before_finished=1000)) as dd:
        with pytest.raises(RetriableError) as raised:
            await dd.client.run_contact_import(
                [contact("ada@example.com")], poll_interval=2, timeout=10
            )
        # The client gave up waiting, not the import: it still runs on the server.
        stats = await dd.admin("stats")
    assert type(raised.value) is RetriableError
    assert "still NotFinished after 10" in str(raised.value)
    assert dd.time.sleeps == [2, 2, 2, 2, 2]
    assert stats["active_imports"]["contacts"] == 1
