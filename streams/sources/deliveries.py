"""Reading a webhook delivery: one CloudEvent or a JSON array of them, each with its key and id."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.commerce.events import CloudEvent, raw_key
from schemas.contract.incidents import Reason

# Commerce never creates an event over 64 KB; anything far larger is not a Commerce event.
MAX_EVENT_BYTES = 256 * 1024

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _nothing(*_: object) -> None:
    return None


# Finds where an array item ends without building it: its objects, numbers and constants
# become None, so an item costs memory only while it is scanned. Its bytes are parsed by
# orjson afterwards, like a single event.
_SCANNER = json.JSONDecoder(
    object_pairs_hook=_nothing, parse_float=_nothing, parse_int=_nothing, parse_constant=_nothing
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


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


@dataclass(frozen=True)
class Window:
    """How far from now a live event's `time` may lie: Adobe retries a delivery for 24 h, so an
    older event is a replay or a forgery; a little lead allows for clocks that disagree."""

    max_age: timedelta
    max_lead: timedelta
    now: Callable[[], datetime] = _utc_now

    def misses(self, at: datetime | None) -> str | None:
        """Why `at` is outside the window, or None when it is inside (or not given)."""
        if at is None:
            return None
        now = self.now()
        if at < now - self.max_age:
            return (
                f"event time {at.isoformat()} is more than {self.max_age} before {now.isoformat()}"
            )
        if at > now + self.max_lead:
            return (
                f"event time {at.isoformat()} is more than {self.max_lead} after {now.isoformat()}"
            )
        return None


@dataclass
class Delivery:
    """What a delivery holds: envelopes to publish, parts to dead-letter, recipients not ours,
    and, when the whole delivery is refused, why."""

    events: list[Incoming] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    foreign_recipients: set[str] = field(default_factory=set)
    missing_recipients: int = 0
    refused: Unreadable | None = None


def _envelope(
    item: Any, value: bytes, client_id: str, window: Window | None, delivery: Delivery
) -> None:
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
    try:
        event = CloudEvent.model_validate(item)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in error["loc"]) for error in exc.errors())
        delivery.unreadable.append(
            Unreadable(Reason.INVALID_ENVELOPE, f"not a CloudEvent: {fields}", value)
        )
        return
    recipients = event.recipients
    if not recipients:
        delivery.missing_recipients += 1
        return
    if recipients != {client_id}:
        delivery.foreign_recipients.update(recipients - {client_id})
        return
    missed = window.misses(event.time) if window is not None else None
    if missed is not None:
        delivery.unreadable.append(Unreadable(Reason.EVENT_OUT_OF_WINDOW, missed, value))
        return
    delivery.events.append(Incoming(event.eventid, event.type, raw_key(event), value))


def _skip_whitespace(text: str, index: int) -> int:
    found = _WHITESPACE.match(text, index)
    return found.end() if found else index


def _array_items(text: str, start: int, limit: int | None) -> list[tuple[int, int]] | None:
    """Where each item of the JSON array opening at `start` begins and ends, or None as soon as
    it holds more than `limit` items; ValueError when it is not well-formed JSON."""
    spans: list[tuple[int, int]] = []
    index = _skip_whitespace(text, start + 1)
    if text.startswith("]", index):
        index = _skip_whitespace(text, index + 1)
    else:
        while True:
            if limit is not None and len(spans) >= limit:
                return None
            try:
                _, end = _SCANNER.raw_decode(text, index)
            except RecursionError as exc:
                raise ValueError(f"nested too deeply at char {index}") from exc
            spans.append((index, end))
            index = _skip_whitespace(text, end)
            if text.startswith(",", index):
                index = _skip_whitespace(text, index + 1)
                continue
            if text.startswith("]", index):
                index = _skip_whitespace(text, index + 1)
                break
            raise ValueError(f"expected ',' or ']' at char {index}")
    if index != len(text):
        raise ValueError(f"extra data at char {index}")
    return spans


def _unparsed(exc: orjson.JSONDecodeError, value: bytes) -> Unreadable:
    """Why JSON could not be read: a number past what a double holds (valid JSON, but no store
    writes it), or anything else that is not JSON."""
    detail = str(exc)
    if detail.startswith("number is infinity"):
        return Unreadable(Reason.NUMBER_OUT_OF_RANGE, detail, value)
    return Unreadable(Reason.MALFORMED_JSON, detail, value)


def read_delivery(
    body: bytes,
    client_id: str,
    *,
    max_events: int | None = None,
    window: Window | None = None,
) -> Delivery:
    """Split a delivery body; every event keeps its exact bytes.

    Events not addressed to `client_id` (or to no one) are counted, not kept: the caller
    refuses the delivery. An array of more than `max_events` items is refused whole before any
    item is parsed; events whose `time` misses the `window` are dead-lettered.
    """
    delivery = Delivery()
    # Latin-1 maps each byte to one character, so the scanner's positions are byte offsets.
    text = body.decode("latin-1")
    start = _skip_whitespace(text, 0)
    if not text.startswith("[", start):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            delivery.unreadable.append(_unparsed(exc, body))
            return delivery
        _envelope(parsed, body, client_id, window, delivery)
        return delivery
    try:
        spans = _array_items(text, start, max_events)
    except ValueError as exc:
        delivery.unreadable.append(Unreadable(Reason.MALFORMED_JSON, str(exc), body))
        return delivery
    if spans is None:
        delivery.refused = Unreadable(
            Reason.DELIVERY_TOO_LARGE,
            f"a delivery of more than {max_events} events; none of it was stored",
            body,
        )
        return delivery
    for begin, end in spans:
        value = body[begin:end]
        try:
            item = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            delivery.unreadable.append(_unparsed(exc, value))
            continue
        _envelope(item, value, client_id, window, delivery)
    return delivery
