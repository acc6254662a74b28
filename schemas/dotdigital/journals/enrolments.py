"""The enrolment ledger's entries: one enrolment (contact, program, trigger subject) and its mark."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Mark(StrEnum):
    """Where one enrolment stands. Claimed is written (and acknowledged) before the call."""

    CLAIMED = "claimed"
    DONE = "done"
    RELEASED = "released"  # Dotdigital refused it: nobody was enrolled, a replay may try again


class LedgerEntry(BaseModel):
    """`cartwright.enrolments.v1` (key: normalized email): one mark of one enrolment."""

    schema_version: int = 1
    email: str
    program_id: int
    subject: str = Field(description="what triggered it, e.g. 'order 000000123 (order_fulfilled)'")
    mark: Mark
    source_event_id: str
    at: datetime

    @property
    def enrolment(self) -> Enrolment:
        return Enrolment(self.email, self.program_id, self.subject)


@dataclass(frozen=True)
class Enrolment:
    """What the ledger keeps one mark for."""

    email: str
    program_id: int
    subject: str


@dataclass(frozen=True)
class Sorting:
    """Which enrolments of a batch go out, which were done before, which a crash interrupted."""

    send: list[Enrolment] = field(default_factory=list)
    done: list[Enrolment] = field(default_factory=list)
    interrupted: list[Enrolment] = field(default_factory=list)


def sort_enrolments(marks: Mapping[Enrolment, Mark | None]) -> Sorting:
    """Done: never again. Claimed and not done: a crash came between the call and its answer,
    so Dotdigital may have it; sending again could enrol twice, so it is not sent."""
    sorting = Sorting()
    for enrolment, mark in marks.items():
        if mark is Mark.DONE:
            sorting.done.append(enrolment)
        elif mark is Mark.CLAIMED:
            sorting.interrupted.append(enrolment)
        else:
            sorting.send.append(enrolment)
    return sorting
