"""Dead letters and sync exceptions: what could not be processed or synced, named and explained."""

from __future__ import annotations

import base64
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Reason(StrEnum):
    """Why a record was dead-lettered; stable codes an operator can filter on."""

    MALFORMED_JSON = "malformed_json"
    INVALID_ENVELOPE = "invalid_envelope"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    INVALID_PAYLOAD = "invalid_payload"
    MISSING_EMAIL = "missing_email"
    INVALID_EMAIL = "invalid_email"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    DOTDIGITAL_REJECTED = "dotdigital_rejected"
    COMMERCE_REJECTED = "commerce_rejected"
    CONSENT_FEED_ROW = "consent_feed_row"
    CONSENT_GATE = "consent_gate"
    RESUBSCRIBE_REFUSED = "resubscribe_refused"
    GUEST_UNSUBSCRIBE = "guest_unsubscribe"
    NUMBER_OUT_OF_RANGE = "number_out_of_range"
    DELIVERY_TOO_LARGE = "delivery_too_large"
    EVENT_OUT_OF_WINDOW = "event_out_of_window"
    PROCESSING_FAILED = "processing_failed"
    ENROLMENT_INTERRUPTED = "enrolment_interrupted"
    ATTRIBUTE_MISSING = "attribute_missing"
    # A value longer than Dotdigital takes: left out, the rest of the record still goes.
    VALUE_TOO_LONG = "value_too_long"
    # Reconciliation findings: Dotdigital differs from Commerce, whoever caused it.
    DRIFT_MISSING = "drift_missing"
    DRIFT_EXTRA = "drift_extra"
    DRIFT_MISMATCH = "drift_mismatch"
    DRIFT_CONTACT = "drift_contact"
    # A reading past its threshold (streams/ops/early_warnings.py); the subject names which.
    EARLY_WARNING = "early_warning"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class DeadLetter(BaseModel):
    """`cartwright.deadletter.v1`: the original bytes and where they came from, with the reason."""

    schema_version: int = 1
    reason: Reason
    detail: str
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    original_b64: str = Field(description="the original message value, base64")
    at: datetime

    @staticmethod
    def encode(original: bytes) -> str:
        return base64.b64encode(original).decode("ascii")

    def original(self) -> bytes:
        return base64.b64decode(self.original_b64)


class SyncException(BaseModel):
    """`cartwright.exceptions.v1`: who, what, why and how much it matters to campaigns."""

    schema_version: int = 1
    subject: str = Field(description="the contact, order or SKU, as an operator names it")
    email: str | None = None
    reason: Reason
    message: str
    severity: Severity
    campaign_impact: str
    event_id: str | None = None
    at: datetime
