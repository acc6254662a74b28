"""Which records a replay window holds: by the event's own time, never the broker's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from schemas.commerce.payload import Timestamp

_TIMESTAMP: TypeAdapter[datetime | None] = TypeAdapter(Timestamp)
# Where a raw envelope's entity says when it changed, when the envelope itself carries no `time`.
_ENTITY_TIMES = ("updated_at", "created_at")
# Where a normalized event says when it happened: an order's or cart's own `updated_at` first.
_NORMALIZED_TIMES = ("updated_at", "occurred_at")


@dataclass(frozen=True)
class Window:
    """Event times from `start` (included) to `end` (excluded); None is open on that side."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, moment: datetime | None) -> bool:
        """Whether an event of this time is in the window (one with no time never is)."""
        if moment is None:
            return False
        if self.start is not None and moment < self.start:
            return False
        return self.end is None or moment < self.end

    def misses(self, earliest: datetime | None, latest: datetime | None) -> bool:
        """Whether no event timed between `earliest` and `latest` can be in the window."""
        if earliest is None or latest is None:
            return True
        if self.start is not None and latest < self.start:
            return True
        return self.end is not None and earliest >= self.end


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return _TIMESTAMP.validate_python(value)
    except (ValidationError, OverflowError):
        # OverflowError: a zoned time at the calendar's edge (year 1 or 9999) has no UTC
        # equivalent; one hostile record must not end a replay's read of the topic.
        return None


def _document(value: bytes) -> dict[str, Any] | None:
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


def _envelope_time(value: Any) -> datetime | None:
    """The envelope's `time` as `CloudEvent` reads it (an ISO date or epoch seconds); None when
    absent, blank or unreadable (an envelope whose `time` is unreadable is no `CloudEvent`)."""
    try:
        return _TIMESTAMP.validate_python(value)
    except (ValidationError, OverflowError):
        return None


def event_time(time: datetime | None, entity: Mapping[str, Any] | None) -> datetime | None:
    """An Adobe I/O event's time from its parsed envelope: its `time` (`CloudEvent.time`), else
    its entity's (`data.value`) `updated_at`, else `created_at`; None when it has none. What
    `raw_event_time` reads from the bytes, for a caller that has parsed them already."""
    if time is not None:
        return time
    if entity is None:
        return None
    for name in _ENTITY_TIMES:
        moment = _moment(entity.get(name))
        if moment is not None:
            return moment
    return None


def raw_event_time(value: bytes) -> datetime | None:
    """A raw Adobe I/O envelope's event time: its `time`, else its entity's `updated_at` (or
    `created_at`); None for a record with neither, or no envelope at all. Agrees with
    `event_time` of the envelope parsed as a `CloudEvent` whenever it parses."""
    envelope = _document(value)
    if envelope is None:
        return None
    data = envelope.get("data")
    entity = data.get("value") if isinstance(data, dict) else None
    return event_time(
        _envelope_time(envelope.get("time")), entity if isinstance(entity, dict) else None
    )


def normalized_event_time(value: bytes) -> datetime | None:
    """A normalized event's time: an order's or cart's `updated_at`, else its `occurred_at`."""
    event = _document(value)
    if event is None:
        return None
    return next(
        (m for m in (_moment(event.get(name)) for name in _NORMALIZED_TIMES) if m is not None),
        None,
    )
