"""Program enrolments: validation, and the consent state recorded with each one."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.dotdigital.account.contact import ContactChange, MergeOption
from sandbox.dotdigital.account.programs import EnrolmentRejected, ProgramBook
from sandbox.dotdigital.account.store import ContactStore
from tests.support.dotdigital import START
from tests.support.faketime import FakeTime


@pytest.fixture
def contacts() -> ContactStore:
    store = ContactStore(FakeTime(wall=START).wall_clock)
    store.upsert("a@example.com", ContactChange(), MergeOption.OVERWRITE)
    store.unsubscribe("b@example.com")
    return store


@pytest.fixture
def book() -> ProgramBook:
    return ProgramBook({1: True, 2: False}, max_contacts=25, clock=FakeTime(wall=START).wall_clock)


def test_enrolment_records_each_contacts_status(book: ProgramBook, contacts: ContactStore) -> None:
    enrolment = book.enrol({"programId": 1, "contacts": [1, 2]}, contacts)
    assert enrolment.program_id == 1
    assert enrolment.contacts == (1, 2)
    assert enrolment.date_created == START
    assert enrolment.contact_statuses == {1: "subscribed", 2: "unsubscribed"}
    assert book.enrolments == [enrolment]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"programId": 9, "contacts": [1]}, 404, "ERROR_PROGRAM_NOT_FOUND"),
        ({"programId": 2, "contacts": [1]}, 422, "ERROR_PROGRAM_NOT_ACTIVE"),
        ({"programId": 1, "contacts": []}, 400, "ERROR_ENROLMENT_INVALID"),
        ({"programId": 1, "contacts": [1] * 26}, 400, "ERROR_ENROLMENT_INVALID"),
        ({"programId": 1, "contacts": ["1"]}, 400, "ERROR_ENROLMENT_INVALID"),
        ({"programId": "1", "contacts": [1]}, 400, "ERROR_ENROLMENT_INVALID"),
        ({"programId": 1, "contacts": [99]}, 400, "ERROR_CONTACT_NOT_FOUND"),
    ],
)
def test_invalid_enrolments_are_refused(
    book: ProgramBook, contacts: ContactStore, body: dict[str, Any], status: int, code: str
) -> None:
    with pytest.raises(EnrolmentRejected) as rejected:
        book.enrol(body, contacts)
    assert (rejected.value.status, rejected.value.code) == (status, code)
    assert book.enrolments == []
