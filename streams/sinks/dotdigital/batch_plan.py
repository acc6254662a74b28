"""Planning one sink batch: coalesce write commands so each contact and record is written once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from schemas.dotdigital.commands import (
    ConsentWrite,
    ContactWrite,
    EnrolmentWrite,
    InsightWrite,
    WriteCommand,
)

Origin = TypeVar("Origin")


@dataclass
class PlannedContact(Generic[Origin]):
    """The data fields to send for one email, and the commands they answer for."""

    email: str
    data_fields: dict[str, object]
    origins: list[Origin] = field(default_factory=list)
    previous_email: str | None = None


@dataclass
class PlannedRecord(Generic[Origin]):
    """The latest version of one insight record, and the commands it answers for."""

    write: InsightWrite
    origins: list[Origin] = field(default_factory=list)


@dataclass
class PlannedEnrolment(Generic[Origin]):
    """One contact to enrol into one program, and the commands that asked for it."""

    write: EnrolmentWrite
    origins: list[Origin] = field(default_factory=list)
    # Each trigger subject that asked for it (an order's journey) and its commands: the
    # enrolment ledger keeps one mark per subject.
    subjects: dict[str, list[Origin]] = field(default_factory=dict)


@dataclass
class BatchPlan(Generic[Origin]):
    """Contacts first (a contact must exist before its insight data), then records per collection."""

    contacts: dict[str, PlannedContact[Origin]] = field(default_factory=dict)
    records: dict[tuple[str, str, str | None], PlannedRecord[Origin]] = field(default_factory=dict)
    enrolments: dict[tuple[int, str], PlannedEnrolment[Origin]] = field(default_factory=dict)
    consents: list[tuple[ConsentWrite, Origin]] = field(default_factory=list)

    def collections(self) -> dict[tuple[str, str], list[PlannedRecord[Origin]]]:
        grouped: dict[tuple[str, str], list[PlannedRecord[Origin]]] = {}
        for planned in self.records.values():
            key = (planned.write.collection, planned.write.collection_type)
            grouped.setdefault(key, []).append(planned)
        return grouped


def plan_batch(commands: Sequence[tuple[WriteCommand, Origin]]) -> BatchPlan[Origin]:
    """Later commands win; data fields of one email merge field by field, in arrival order."""
    plan: BatchPlan[Origin] = BatchPlan()
    for envelope, origin in commands:
        command = envelope.command
        if isinstance(command, ContactWrite):
            contact = plan.contacts.setdefault(command.email, PlannedContact(command.email, {}))
            contact.data_fields.update(command.data_fields)
            contact.origins.append(origin)
            contact.previous_email = contact.previous_email or command.previous_email
        elif isinstance(command, ConsentWrite):
            plan.consents.append((command, origin))
        elif isinstance(command, EnrolmentWrite):
            planned = plan.enrolments.setdefault(
                (command.program_id, command.email), PlannedEnrolment(command)
            )
            planned.origins.append(origin)
            planned.subjects.setdefault(command.subject, []).append(origin)
        else:
            key = (command.collection, command.record.key, command.email)
            existing = plan.records.get(key)
            origins = [*existing.origins, origin] if existing else [origin]
            plan.records[key] = PlannedRecord(command, origins)
    return plan
