"""Reading a webhook delivery: one CloudEvent or a JSON array of them, each with its key and id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.incidents import Reason

# Commerce never creates an event over 64 KB; anything far larger is not a Commerce event.
MAX_EVENT_BYTES = 256 * 1024


@dataclass(frozen=True)
class Incoming:
    """One envelope ready for the raw topic."""

    event_id: str
    event_type: str
    key: str
    value: bytes


@dataclass(frozen=True)
class Unreadable:
    """A part of a delivery that cannot go to the raw topic, and why."""

    reason: Reason
    detail: str
    value: bytes


@dataclass
class Delivery:
    """What a delivery holds: envelopes to publish, parts to dead-letter, foreign recipients."""

    events: list[Incoming] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    foreign_recipients: set[str] = field(default_factory=set)


def _envelope(item: Any, value: bytes, client_id: str, delivery: Delivery) -> None:
    if len(value) > MAX_EVENT_BYTES:
        delivery.unreadable.append(
            Unreadable(
                Reason.PAYLOAD_TOO_LARGE,
                f"event of {len(value)} bytes; Commerce never sends over 64 KB",
                value,
            )
        )
        return
    if not isinstance(item, dict):
        delivery.unreadable.append(
            Unreadable(Reason.INVALID_ENVELOPE, "an event must be a JSON object", value)
        )
        return
    if "eventid" not in item:
        item = {**item, "eventid": item.get("event_id") or item.get("id")}
    try:
        event = CloudEvent.model_validate(item)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in error["loc"]) for error in exc.errors())
        delivery.unreadable.append(
            Unreadable(Reason.INVALID_ENVELOPE, f"not a CloudEvent: {fields}", value)
        )
        return
    if event.recipientclientid and event.recipientclientid != client_id:
        delivery.foreign_recipients.add(event.recipientclientid)
        return
    delivery.events.append(Incoming(event.eventid, event.type, raw_key(event), value))


def read_delivery(body: bytes, client_id: str) -> Delivery:
    """Split a delivery body; a single object keeps its exact bytes, array items are re-encoded."""
    delivery = Delivery()
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        delivery.unreadable.append(Unreadable(Reason.MALFORMED_JSON, str(exc), body))
        return delivery
    if isinstance(parsed, list):
        for item in parsed:
            _envelope(item, orjson.dumps(item), client_id, delivery)
    else:
        _envelope(parsed, body, client_id, delivery)
    return delivery
