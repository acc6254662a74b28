"""The sink's trail: which call carried each settled command, and how Dotdigital answered it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from schemas.contract.incidents import Reason
from schemas.dotdigital.commands import (
    ContactWrite,
    EnrolmentWrite,
    InsightWrite,
    Lane,
    WriteCommand,
)
from schemas.dotdigital.trail import Answer, Written

Origin = TypeVar("Origin")

# Not sent on purpose (an opt-out, an enrolment a crash may have sent): held back, not refused.
HELD_BACK = frozenset({Reason.CONSENT_GATE, Reason.ENROLMENT_INTERRUPTED})


@dataclass(frozen=True)
class Receipt:
    """The call that carried a command, and the import it was part of (when one)."""

    call: str
    import_id: str | None = None
    failed: str | None = None


class Receipts:
    """What a writer noted of each command's call, until the lane reads it: keyed by the
    command's origin object, which is one per consumed record."""

    def __init__(self) -> None:
        self._noted: dict[int, Receipt] = {}

    def note(self, origins: Iterable[object], call: str, import_id: str | None = None) -> None:
        receipt = Receipt(call, import_id)
        for origin in origins:
            self._noted[id(origin)] = receipt

    def fail(self, origin: object, detail: str) -> None:
        """The command failed for a fault of its own and was dead-lettered."""
        noted = self._noted.get(id(origin))
        self._noted[id(origin)] = Receipt(noted.call if noted else "none", failed=detail)

    def failed(self, origin: object) -> bool:
        """Whether the command was dead-lettered for a fault of its own (not Dotdigital's)."""
        noted = self._noted.get(id(origin))
        return noted is not None and noted.failed is not None

    def take(self, origin: object) -> Receipt | None:
        return self._noted.pop(id(origin), None)


class Refusal(Protocol):
    """A refused or held-back command as the trail reads it (the writers' `Rejection`)."""

    @property
    def origin(self) -> object: ...
    @property
    def reason(self) -> Reason: ...
    @property
    def detail(self) -> str: ...


def call_of(command: WriteCommand) -> str:
    """The call a command is carried by when its writer noted none (an enrolment done before)."""
    inner = command.command
    if isinstance(inner, ContactWrite):
        return "contact upsert"
    if isinstance(inner, InsightWrite):
        return f"insight record in {inner.collection}"
    if isinstance(inner, EnrolmentWrite):
        return f"enrolment into program {inner.program_id}"
    return f"consent {inner.action}"


def subject_of(command: WriteCommand) -> str:
    inner = command.command
    return f"contact {inner.email}" if isinstance(inner, ContactWrite) else inner.subject


def entries(
    lane: Lane,
    commands: Sequence[tuple[WriteCommand, Origin]],
    refusals: Sequence[Refusal],
    receipts: Receipts,
    at: datetime,
) -> list[Written]:
    """One trail entry per settled command, in the batch's order."""
    refused = {id(refusal.origin): refusal for refusal in refusals}
    written: list[Written] = []
    for command, origin in commands:
        inner = command.command
        receipt = receipts.take(origin) or Receipt(call_of(command))
        refusal = refused.get(id(origin))
        if receipt.failed is not None:
            answer, detail = Answer.REJECTED, receipt.failed
        elif refusal is None:
            answer, detail = Answer.ACCEPTED, None
        else:
            held = refusal.reason in HELD_BACK
            answer, detail = (Answer.HELD_BACK if held else Answer.REJECTED), refusal.detail
        insight = inner if isinstance(inner, InsightWrite) else None
        written.append(
            Written(
                subject=subject_of(command),
                email=inner.email,
                kind=inner.kind,
                lane=lane,
                call=receipt.call,
                answer=answer,
                detail=detail,
                import_id=receipt.import_id,
                collection=insight.collection if insight else None,
                record_key=insight.record.key if insight else None,
                source_event_id=inner.source_event_id,
                issued_at=inner.issued_at,
                at=at,
            )
        )
    return written


def trail_key(entry: Written) -> bytes:
    """Keyed as the exceptions are: by email, else by subject."""
    return (entry.email or entry.subject).encode()
