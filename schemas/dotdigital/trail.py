"""The sink's trail: how Dotdigital answered each write command, by which call and import."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from schemas.dotdigital.commands import Lane


class Answer(StrEnum):
    """How a write command settled."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    HELD_BACK = "held_back"


class Written(BaseModel):
    """`cartwright.trail.v1`: one write command, settled; what a trace shows as "written" and
    what resolves an earlier exception for the same subject."""

    schema_version: int = 1
    subject: str = Field(description="the contact, order or refund, as an operator names it")
    email: str | None = None
    kind: str = Field(description="contact, insight, enrolment or consent")
    lane: Lane
    call: str = Field(description="the Dotdigital call that carried it, e.g. 'insight import'")
    answer: Answer
    detail: str | None = Field(default=None, description="why, when not accepted")
    import_id: str | None = Field(default=None, description="Dotdigital's import, when one")
    collection: str | None = None
    record_key: str | None = None
    source_event_id: str
    issued_at: datetime
    at: datetime
