"""Programs (automations) and the enrolments made into them (no HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.dotdigital.account.store import ContactStore


class EnrolmentRejected(ValueError):
    """An enrolment Dotdigital refuses; `status` and `code` are the v2 answer's."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Enrolment:
    """One accepted enrolment, with each contact's email status at the moment of enrolling."""

    enrolment_id: str
    program_id: int
    contacts: tuple[int, ...]
    date_created: float
    contact_statuses: Mapping[int, str]


class ProgramBook:
    """Which programs exist (and are active), and every enrolment accepted."""

    def __init__(
        self, programs: Mapping[int, bool], *, max_contacts: int, clock: Callable[[], float]
    ) -> None:
        self.programs = dict(programs)
        self._max_contacts = max_contacts
        self._clock = clock
        self.enrolments: list[Enrolment] = []

    def enrol(self, body: Any, contacts: ContactStore) -> Enrolment:
        """Validate and record `{"programId", "contacts": [ids]}`; EnrolmentRejected otherwise."""
        if not isinstance(body, dict):
            raise EnrolmentRejected(400, "ERROR_ENROLMENT_INVALID")
        program_id = body.get("programId")
        ids = body.get("contacts")
        if not _is_int(program_id):
            raise EnrolmentRejected(400, "ERROR_ENROLMENT_INVALID")
        if program_id not in self.programs:
            raise EnrolmentRejected(404, "ERROR_PROGRAM_NOT_FOUND")
        if not self.programs[program_id]:
            raise EnrolmentRejected(422, "ERROR_PROGRAM_NOT_ACTIVE")
        if (
            not isinstance(ids, list)
            or not 0 < len(ids) <= self._max_contacts
            or not all(_is_int(i) for i in ids)
        ):
            raise EnrolmentRejected(400, "ERROR_ENROLMENT_INVALID")
        statuses: dict[int, str] = {}
        for contact_id in ids:
            contact = contacts.by_id(contact_id)
            if contact is None:
                raise EnrolmentRejected(400, "ERROR_CONTACT_NOT_FOUND")
            statuses[contact_id] = contact.status
        enrolment = Enrolment(
            enrolment_id=str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"enrolment-{len(self.enrolments) + 1}")
            ),
            program_id=program_id,
            contacts=tuple(ids),
            date_created=self._clock(),
            contact_statuses=statuses,
        )
        self.enrolments.append(enrolment)
        return enrolment


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
