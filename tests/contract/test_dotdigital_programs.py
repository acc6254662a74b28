"""v2 program enrolments: batched at 25 contacts per call, and the enrolment errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.errors import SkippableError
from sandbox.dotdigital.account.config import SandboxConfig
from schemas.dotdigital.bodies import ContactUpsert
from tests.support.dotdigital import Dotdigital, sandbox

ACTIVE, PAUSED, UNKNOWN = 1, 2, 99


@pytest.fixture
async def programs() -> AsyncIterator[Dotdigital]:
    async with sandbox(SandboxConfig(programs={ACTIVE: True, PAUSED: False})) as dd:
        yield dd


async def contact_ids(dd: Dotdigital, count: int) -> list[int]:
    """Contacts created through an import; enrolment needs the ids the report hands back."""
    report = await dd.client.run_contact_import(
        [ContactUpsert(email=f"c{n:02d}@example.com") for n in range(count)]
    )
    return [row["contactId"] for row in report.created]


async def test_thirty_contacts_are_enrolled_in_calls_of_25_and_5(programs: Dotdigital) -> None:
    ids = await contact_ids(programs, 30)

    enrolments = await programs.client.enrol(ACTIVE, ids)

    assert [(e["programId"], e["status"], len(e["contacts"])) for e in enrolments] == [
        (ACTIVE, "Processing", 25),
        (ACTIVE, "Processing", 5),
    ]
    recorded = (await programs.admin("enrolments"))["enrolments"]
    assert [row["contacts"] for row in recorded] == [ids[:25], ids[25:]]
    assert [e.status for e in programs.network.to("POST", "/v2/programs/enrolments")] == [201, 201]


async def test_an_unknown_program_is_skippable(programs: Dotdigital) -> None:
    ids = await contact_ids(programs, 1)
    with pytest.raises(SkippableError) as raised:
        await programs.client.enrol(UNKNOWN, ids)
    assert (raised.value.status, raised.value.code) == (404, "ERROR_PROGRAM_NOT_FOUND")


async def test_an_inactive_program_is_skippable(programs: Dotdigital) -> None:
    ids = await contact_ids(programs, 1)
    with pytest.raises(SkippableError) as raised:
        await programs.client.enrol(PAUSED, ids)
    assert (raised.value.status, raised.value.code) == (422, "ERROR_PROGRAM_NOT_ACTIVE")
    assert (await programs.admin("enrolments"))["enrolments"] == []


async def test_an_unknown_contact_id_is_skippable(programs: Dotdigital) -> None:
    with pytest.raises(SkippableError) as raised:
        await programs.client.enrol(ACTIVE, [424242])
    assert (raised.value.status, raised.value.code) == (400, "ERROR_CONTACT_NOT_FOUND")
    assert raised.value.description == "Error: ERROR_CONTACT_NOT_FOUND"


async def test_no_contacts_means_no_call(programs: Dotdigital) -> None:
    assert await programs.client.enrol(ACTIVE, []) == []
    assert programs.network.exchanges == []
