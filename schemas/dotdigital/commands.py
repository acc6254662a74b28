"""Write commands for the Dotdigital sink (`dotdigital.writes.v1`), each on a lane."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from schemas.dotdigital.bodies import InsightRecord

# What a consent change asks of Dotdigital: a global unsubscribe, or a re-subscribe request.
ConsentAction = Literal["unsubscribe", "resubscribe"]
UNSUBSCRIBE: Final = "unsubscribe"
RESUBSCRIBE: Final = "resubscribe"


class Lane(StrEnum):
    """Realtime writes never wait behind batch writes."""

    REALTIME = "realtime"
    BATCH = "batch"


class ContactWrite(BaseModel):
    """Create or update the contact behind an email with these data fields."""

    kind: Literal["contact"] = "contact"
    schema_version: int = 1
    lane: Lane = Lane.BATCH
    email: str
    previous_email: str | None = Field(
        default=None, description="the contact's address before an email change: rename it"
    )
    data_fields: dict[str, Any] = Field(default_factory=dict)
    source_event_id: str
    issued_at: datetime


class InsightWrite(BaseModel):
    """Upsert one record of an insight collection (by its deterministic key)."""

    kind: Literal["insight"] = "insight"
    schema_version: int = 1
    lane: Lane = Lane.BATCH
    email: str | None = None
    collection: str
    collection_type: str
    record: InsightRecord
    subject: str = Field(description="what an operator calls it, e.g. 'order 000000123'")
    source_event_id: str
    issued_at: datetime


class EnrolmentWrite(BaseModel):
    """Enrol the contact behind an email into a program (a post-purchase journey), once."""

    kind: Literal["enrolment"] = "enrolment"
    schema_version: int = 1
    lane: Lane = Lane.BATCH
    email: str
    program_id: int
    trigger: str = Field(description="why: order_fulfilled, first_order, …")
    subject: str
    source_event_id: str
    issued_at: datetime


class ConsentWrite(BaseModel):
    """Carry a consent change to Dotdigital: a global unsubscribe, or a re-subscribe request."""

    kind: Literal["consent"] = "consent"
    schema_version: int = 1
    lane: Lane = Lane.REALTIME
    email: str
    action: ConsentAction
    consent_event_id: str = Field(description="the consent change this carries")
    occurred_at: datetime = Field(description="when the change happened in Commerce")
    subject: str
    source_event_id: str
    issued_at: datetime


class WriteCommand(BaseModel):
    """The envelope on the writes topic: one of the commands above."""

    command: ContactWrite | InsightWrite | EnrolmentWrite | ConsentWrite = Field(
        discriminator="kind"
    )
