"""Publishing dead letters and sync exceptions: every failure names its record and its reason."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from connectors.privacy import redact_emails
from schemas.contract.incidents import DeadLetter, Reason, Severity, SyncException
from streams.runtime.metrics import Metrics

log = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)

# What an operator reads in the exception record, per reason.
IMPACT = {
    Reason.MALFORMED_JSON: "an event was lost in transit; the record it carried is not in Dotdigital",
    Reason.INVALID_ENVELOPE: "an event was not understood; its record is not in Dotdigital",
    Reason.UNKNOWN_EVENT_TYPE: "none: the event is kept on the raw topic for when it is used",
    Reason.INVALID_PAYLOAD: "this record is not in Dotdigital until the payload is fixed and replayed",
    Reason.MISSING_EMAIL: "no contact to attach this record to; it is not in Dotdigital",
    Reason.INVALID_EMAIL: "no contact to attach this record to; it is not in Dotdigital",
    Reason.PAYLOAD_TOO_LARGE: "this record is not in Dotdigital",
    Reason.DOTDIGITAL_REJECTED: "Dotdigital refused this record; segments and programs miss it",
    Reason.CONSENT_FEED_ROW: "none for Dotdigital (it enforces the suppression); Commerce and "
    "consent.v1 miss this change",
    Reason.COMMERCE_REJECTED: "Commerce refused an opt-out: the customer may still be "
    "subscribed there, though Dotdigital will not mail them",
    Reason.CONSENT_GATE: "none: the contact has opted out, so no program or subscription is sent",
    Reason.RESUBSCRIBE_REFUSED: "the contact stays suppressed in Dotdigital and gets no marketing",
    Reason.GUEST_UNSUBSCRIBE: "none for Dotdigital (it enforces the opt-out); Commerce's guest "
    "newsletter status is out of date",
    Reason.NUMBER_OUT_OF_RANGE: "this record is not in Dotdigital: a number in it is not finite, "
    "negative where it cannot be, or larger than Commerce can hold",
    Reason.DELIVERY_TOO_LARGE: "none of the delivery's events were stored; the store must send "
    "them in smaller deliveries",
    Reason.EVENT_OUT_OF_WINDOW: "this event is not in Dotdigital: its time is too far from now "
    "to be a live delivery (a replay or a forged event)",
    Reason.PROCESSING_FAILED: "this record is not in Dotdigital until the fault is fixed and the "
    "record replayed from the dead-letter topic",
    Reason.ENROLMENT_INTERRUPTED: "the contact may or may not be in the program: a restart came "
    "between the enrolment call and its confirmation, and it is not sent twice",
    Reason.DRIFT_MISSING: "Dotdigital lacks this record: segments, revenue and programs keyed "
    "on it miss it until it is replayed",
    Reason.DRIFT_EXTRA: "Dotdigital holds a record Commerce does not have: revenue and segments "
    "count something that was never sold",
    Reason.DRIFT_MISMATCH: "Dotdigital holds this record with other totals or status than "
    "Commerce: revenue and segments on them are wrong until it is replayed",
    Reason.DRIFT_CONTACT: "the contact's order count or lifetime value in Dotdigital disagrees "
    "with their orders: segments and personalisation on them are wrong",
}
SEVERITY = {
    Reason.UNKNOWN_EVENT_TYPE: Severity.INFO,
    Reason.CONSENT_GATE: Severity.INFO,
    Reason.GUEST_UNSUBSCRIBE: Severity.INFO,
    Reason.RESUBSCRIBE_REFUSED: Severity.WARNING,
    Reason.CONSENT_FEED_ROW: Severity.WARNING,
    Reason.ENROLMENT_INTERRUPTED: Severity.WARNING,
    Reason.DRIFT_EXTRA: Severity.WARNING,
    Reason.DRIFT_CONTACT: Severity.WARNING,
}
# Dead letters keep the original bytes, up to what a Kafka message comfortably holds.
MAX_ORIGINAL_BYTES = 256 * 1024
# What an operator reads is cut to these lengths, after its email addresses are masked.
MAX_DETAIL = 2000
MAX_MESSAGE = 500


def _now() -> datetime:
    return datetime.now(UTC)


def _exception(
    reason: Reason,
    message: str,
    subject: str,
    email: str | None,
    event_id: str | None,
    at: datetime,
) -> SyncException:
    """The exception record an operator reads: severity and impact follow from the reason.

    `email` stays as it is: it is the record's key, what an operator filters on and what a
    trace or a resolution follows. The free text (`subject`, `message`) has its addresses masked.
    """
    return SyncException(
        subject=readable(subject),
        email=email,
        reason=reason,
        message=readable(message, MAX_MESSAGE),
        severity=SEVERITY.get(reason, Severity.ERROR),
        campaign_impact=IMPACT[reason],
        event_id=event_id,
        at=at,
    )


def readable(text: str, limit: int | None = None) -> str:
    """Free text for the incident topics: email addresses masked, then cut to `limit`.

    The text is first cut to a few times `limit`, so masking stays cheap on a huge text and an
    address cut in two at the final cut has already been masked whole.
    """
    if limit is None:
        return redact_emails(text)
    return redact_emails(text[: 4 * limit])[:limit]


class Incidents:
    """Sends a dead letter and its exception record together.

    A dead letter keeps what a replay needs as it was (the `original` bytes and the `key`); its
    `detail`, and the exception record's `subject` and `message`, have email addresses masked.
    """

    def __init__(
        self, deadletter_topic: Any, exceptions_topic: Any, metrics: Metrics | None = None
    ) -> None:
        self._deadletter = deadletter_topic
        self._exceptions = exceptions_topic
        self._metrics = metrics or Metrics()

    async def dead_letter(
        self,
        *,
        reason: Reason,
        detail: str,
        original: bytes,
        source_topic: str,
        key: str | None,
        subject: str,
        email: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        event_id: str | None = None,
        wait: bool = False,
    ) -> None:
        """Dead-letter `original` and report it; `wait` blocks until the broker acknowledged both."""
        at = _now()
        if len(original) > MAX_ORIGINAL_BYTES:
            detail = f"{detail} (original truncated from {len(original)} bytes)"
            original = original[:MAX_ORIGINAL_BYTES]
        letter = DeadLetter(
            reason=reason,
            detail=readable(detail, MAX_DETAIL),
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key=key,
            original_b64=DeadLetter.encode(original),
            at=at,
        )
        exception = _exception(reason, detail, subject, email, event_id, at)
        record_key = (email or key or exception.subject).encode()
        sent = [
            await self._deadletter.send(
                key=(key or exception.subject).encode(),
                value=orjson.dumps(letter.model_dump(mode="json")),
            ),
            await self._exceptions.send(
                key=record_key, value=orjson.dumps(exception.model_dump(mode="json"))
            ),
        ]
        self._metrics.dead_lettered(reason.value, source_topic)
        self._metrics.excepted(reason.value, exception.severity.value)
        log.warning(
            "dead-lettered %s: %s",
            exception.subject,
            reason.value,
            extra={"topic": source_topic, "partition": partition, "offset": offset},
        )
        if wait:
            for future in sent:
                await future

    async def read(self, event: Any, model: type[Model], what: str) -> Model | None:
        """A consumed Faust event's value as `model`, or None once it is dead-lettered as not
        `what` (e.g. "a v1 write command")."""
        try:
            return model.model_validate_json(event.value)
        except ValidationError as exc:
            await self.unreadable(event, what, exc.error_count())
            return None

    async def unreadable(self, event: Any, what: str, problems: int) -> None:
        """Dead-letter a consumed Faust event whose value is not `what` (e.g. "a v1 write
        command"): `problems` is how many validation errors it had."""
        message = event.message
        await self.dead_letter(
            reason=Reason.INVALID_PAYLOAD,
            detail=f"not {what}: {problems} problem(s)",
            original=event.value,
            source_topic=message.topic,
            key=(event.key or b"").decode(errors="replace"),
            subject=f"{message.topic} record {message.offset}",
            partition=message.partition,
            offset=message.offset,
        )

    async def report(
        self,
        *,
        reason: Reason,
        message: str,
        subject: str,
        event_id: str | None = None,
        email: str | None = None,
    ) -> None:
        """An exception record alone, for what is worth knowing but lost nothing."""
        exception = _exception(reason, message, subject, email, event_id, _now())
        self._metrics.excepted(reason.value, exception.severity.value)
        await self._exceptions.send(
            key=(email or exception.subject).encode(),
            value=orjson.dumps(exception.model_dump(mode="json")),
        )
