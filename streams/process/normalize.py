"""The normalize agent: raw Adobe envelopes → `commerce.orders.v1` / `commerce.customers.v1` by email."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from schemas.commerce.customers import CommerceCustomer
from schemas.commerce.events import (
    CREDITMEMO_SAVED,
    CUSTOMER_SAVED,
    ORDER_SAVED,
    SHIPMENT_SAVED,
    SUBSCRIBER_SAVED,
    CloudEvent,
)
from schemas.contract.consent import ConsentChanged
from schemas.contract.incidents import Reason
from schemas.contract.normalized import CustomerUpdated, NormalizedEvent, OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.contract.topics import RAW
from schemas.email import InvalidEmail
from schemas.normalize.consent import from_customer, from_subscriber
from schemas.normalize.customers import customer_updated
from schemas.rules.order_facts import OrderFacts, fold_creditmemo, fold_order, fold_shipment
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.tables import bytes_table
from streams.runtime.topics import TopicSet

log = logging.getLogger(__name__)


class Unprocessable(Exception):
    """A raw event that cannot be normalized; it is dead-lettered with `reason`."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class NotUsed(Exception):
    """An event type Cartwright does not use (yet): it stays on the raw topic, nothing is lost."""


def _validation_detail(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"
        for error in exc.errors()[:5]
    ]
    return "payload not understood: " + "; ".join(problems)


def read_envelope(value: bytes) -> CloudEvent:
    try:
        return CloudEvent.model_validate_json(value)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise Unprocessable(Reason.MALFORMED_JSON, "not JSON") from exc
        raise Unprocessable(Reason.INVALID_ENVELOPE, _validation_detail(exc)) from exc


def subject_of(event: CloudEvent) -> str:
    value = event.data.value
    number = value.get("increment_id")
    if event.type == ORDER_SAVED:
        return f"order {number or value.get('entity_id')}"
    if event.type == SHIPMENT_SAVED:
        return f"shipment {number} of order entity {value.get('order_id')}"
    if event.type == CREDITMEMO_SAVED:
        return f"credit memo {number} of order entity {value.get('order_id')}"
    if event.type == CUSTOMER_SAVED:
        return f"customer {value.get('id') or value.get('entity_id')}"
    if event.type == SUBSCRIBER_SAVED:
        return f"newsletter subscriber {value.get('subscriber_id')}"
    return f"event {event.eventid} ({event.type})"


class Normalizer:
    """Folds one raw event into the order facts table and says what to publish."""

    def __init__(self, order_facts: Any) -> None:
        self._facts = order_facts

    def _load(self, key: bytes) -> OrderFacts | None:
        stored = self._facts.get(key)
        return OrderFacts.model_validate_json(stored) if stored else None

    def apply(self, key: bytes, event: CloudEvent) -> list[NormalizedEvent | ConsentChanged]:
        """The normalized events to publish, if this raw event changed anything."""
        occurred_at = event.time or datetime.now(UTC)
        try:
            if event.type == SUBSCRIBER_SAVED:
                return [
                    from_subscriber(
                        event.data.value, event_id=event.eventid, occurred_at=event.time
                    )
                ]
            if event.type == CUSTOMER_SAVED:
                customer = CommerceCustomer.model_validate(event.data.value)
                updated = customer_updated(
                    customer, event_id=event.eventid, occurred_at=occurred_at
                )
                consent = from_customer(customer, event_id=event.eventid, occurred_at=occurred_at)
                return [updated] if consent is None else [updated, consent]
            if event.type == ORDER_SAVED:
                fold = fold_order
            elif event.type == SHIPMENT_SAVED:
                fold = fold_shipment
            elif event.type == CREDITMEMO_SAVED:
                fold = fold_creditmemo
            else:
                raise NotUsed(event.type)
            facts, events = fold(
                self._load(key), event.data.value, event_id=event.eventid, occurred_at=occurred_at
            )
        except InvalidEmail as exc:
            missing = exc.reason == "missing"
            raise Unprocessable(
                Reason.MISSING_EMAIL if missing else Reason.INVALID_EMAIL, f"customer email {exc}"
            ) from exc
        except ValidationError as exc:
            raise Unprocessable(Reason.INVALID_PAYLOAD, _validation_detail(exc)) from exc
        except ValueError as exc:
            raise Unprocessable(Reason.INVALID_PAYLOAD, str(exc)) from exc
        self._facts[key] = facts.model_dump_json().encode()
        return list(events)


def register(
    app: Any, topics: TopicSet, incidents: Incidents, partitions: int, metrics: Metrics
) -> Any:
    """Declare the order facts table and the normalize agent on `app`."""
    order_facts = bytes_table(app, "order_facts", partitions)
    normalizer = Normalizer(order_facts)
    reported: set[str] = set()

    @app.agent(topics.raw, name="normalize")
    async def normalize(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            key: bytes = event.key or b""
            envelope: CloudEvent | None = None
            try:
                envelope = read_envelope(event.value)
                emitted = normalizer.apply(key, envelope)
            except NotUsed as exc:
                metrics.add("normalize.not_used")
                if str(exc) not in reported:
                    # Once per type and worker: the raw topic keeps every one of them.
                    reported.add(str(exc))
                    await incidents.report(
                        reason=Reason.UNKNOWN_EVENT_TYPE,
                        message=f"event type {exc} is kept on {RAW} but not used",
                        subject=f"event type {exc}",
                        event_id=envelope.eventid if envelope else None,
                    )
                continue
            except Unprocessable as exc:
                await incidents.dead_letter(
                    reason=exc.reason,
                    detail=exc.detail,
                    original=event.value,
                    source_topic=RAW,
                    key=key.decode(errors="replace"),
                    subject=subject_of(envelope) if envelope else f"raw record {message.offset}",
                    partition=message.partition,
                    offset=message.offset,
                    event_id=envelope.eventid if envelope else None,
                )
                metrics.add("normalize.dead_lettered")
                continue
            metrics.add("normalize.events")
            for normalized in emitted:
                topic, email = _route(topics, normalized)
                await topic.send(key=email.encode(), value=_encode(normalized))
                if isinstance(normalized, CustomerUpdated) and normalized.previous_email:
                    # The old email's partition hands the contact's history over.
                    await topic.send(
                        key=normalized.previous_email.encode(), value=_encode(normalized)
                    )

    return normalize


def _route(topics: TopicSet, event: NormalizedEvent | ConsentChanged) -> tuple[Any, str]:
    """The topic of a normalized event, and its key (the normalized email)."""
    if isinstance(event, ConsentChanged):
        # What Commerce reported; the join publishes on `consent.v1` what it changed.
        return topics.consent_observed, event.email
    if isinstance(event, OrderUpdated):
        return topics.orders, event.email
    if isinstance(event, RefundRecorded):
        return topics.refunds, event.email
    if isinstance(event, CustomerUpdated):
        return topics.customers, event.email
    raise TypeError(f"no topic for {type(event).__name__}")


def _encode(event: BaseModel) -> bytes:
    return orjson.dumps(event.model_dump(mode="json", by_alias=True))
