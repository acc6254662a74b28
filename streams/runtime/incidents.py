"""Publishing dead letters and sync exceptions: every failure names its record and its reason."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from connectors.privacy import redact_emails
from schemas.contract.incidents import DeadLetter, Reason, Severity, SyncException
from schemas.rules.impact import impact
from streams.runtime.metrics import Metrics

log = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)

SEVERITY = {
    Reason.UNKNOWN_EVENT_TYPE: Severity.INFO,
    Reason.CONSENT_GATE: Severity.INFO,
    Reason.GUEST_UNSUBSCRIBE: Severity.INFO,
    Reason.RESUBSCRIBE_REFUSED: Severity.WARNING,
    Reason.CONSENT_FEED_ROW: Severity.WARNING,
    Reason.ENROLMENT_INTERRUPTED: Severity.WARNING,
    Reason.ATTRIBUTE_MISSING: Severity.WARNING,
    Reason.VALUE_TOO_LONG: Severity.WARNING,
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
    attribute: str | None = None,
    severity: Severity | None = None,
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
        severity=severity or SEVERITY.get(reason, Severity.ERROR),
        campaign_impact=readable(impact(reason, subject, attribute), MAX_MESSAGE),
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
        attribute: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        """An exception record alone, for what is worth knowing but lost nothing; `attribute`:
        the product attribute it is about, for its impact; `severity`: when not the reason's."""
        exception = _exception(
            reason, message, subject, email, event_id, _now(), attribute, severity
        )
        self._metrics.excepted(reason.value, exception.severity.value)
        await self._exceptions.send(
            key=(email or exception.subject).encode(),
            value=orjson.dumps(exception.model_dump(mode="json")),
        )
