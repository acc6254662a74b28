"""Which records of a topic a window replay puts back: in the window by event time, of the asked
types, about the asked ids or emails, not themselves replayed copies; on the raw topic only the
last of each entity's records, since a replayed record restates its entity whole."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from schemas.commerce.events import (
    CREDITMEMO_SAVED,
    CUSTOMER_SAVED,
    ORDER_SAVED,
    QUOTE_SAVED,
    SHIPMENT_SAVED,
    SUBSCRIBER_SAVED,
    event_id_of,
)
from schemas.contract.replay import Headers, replay_run
from schemas.contract.topics import CUSTOMERS, ORDERS, RAW, REFUNDS
from schemas.replay.window import Window, normalized_event_time, raw_event_time

# What an operator calls each Adobe event type on the command line.
RAW_TYPES = {
    "order": ORDER_SAVED,
    "shipment": SHIPMENT_SAVED,
    "creditmemo": CREDITMEMO_SAVED,
    "customer": CUSTOMER_SAVED,
    "subscriber": SUBSCRIBER_SAVED,
    "cart": QUOTE_SAVED,
}
SHORT_TYPES = {adobe: short for short, adobe in RAW_TYPES.items()}
# The topics a window replay reads, by the name an operator gives: the raw topic re-runs
# normalize → join → sink, a normalized one join → sink.
REPLAYABLE = {"raw": RAW, "orders": ORDERS, "customers": CUSTOMERS, "refunds": REFUNDS}
NORMALIZED_TYPES = {ORDERS: "order", CUSTOMERS: "customer", REFUNDS: "refund"}
# Where a raw entity or a normalized event names its email and its ids.
_EMAIL_FIELDS = ("customer_email", "email")
_ID_FIELDS = (
    "increment_id",
    "entity_id",
    "order_id",
    "order_increment_id",
    "customer_id",
    "id",
    "quote_id",
)
_MAX_FIELD = 320


@dataclass(frozen=True)
class Selection:
    """A window replay's choice: a topic, an event-time window, and optional filters."""

    topic: str = RAW
    window: Window = field(default_factory=Window)
    types: frozenset[str] = frozenset()  # short names (order, shipment, …); empty: all
    ids: frozenset[str] = frozenset()  # order/customer/entity ids or record keys; empty: all
    emails: frozenset[str] = frozenset()  # normalized emails; empty: all


@dataclass(frozen=True)
class Picked:
    """A record the replay puts back, with what the dry run says about it."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes
    event_type: str
    moment: datetime
    email: str | None
    ids: frozenset[str]


def _document(value: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str) and len(str(value)) <= _MAX_FIELD:
        return str(value).strip() or None
    return None


def _about(entity: dict[str, Any], key: bytes | None) -> tuple[str | None, frozenset[str]]:
    email = next((_text(entity.get(name)) for name in _EMAIL_FIELDS if entity.get(name)), None)
    ids = {text for text in (_text(entity.get(name)) for name in _ID_FIELDS) if text}
    if key:
        name = key.decode(errors="replace")
        ids |= {name, name.partition(":")[2]} - {""}
    return (email.lower() if email else None), frozenset(ids)


def pick(
    selection: Selection,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
) -> Picked | None:
    """The record as the replay would put it back, or None when the selection leaves it."""
    if value is None or replay_run(headers) is not None:
        return None
    if selection.topic == RAW:
        moment = raw_event_time(value)
        if not selection.window.holds(moment):
            return None
        envelope = _document(value)
        data = envelope.get("data")
        entity = data.get("value") if isinstance(data, dict) else None
        event_type = SHORT_TYPES.get(str(envelope.get("type")), str(envelope.get("type")))
        email, ids = _about(entity if isinstance(entity, dict) else {}, key)
        event_id = _text(event_id_of(envelope))
    else:
        moment = normalized_event_time(value)
        if not selection.window.holds(moment):
            return None
        event_type = NORMALIZED_TYPES.get(selection.topic, selection.topic)
        document = _document(value)
        email, ids = _about(document, key)
        event_id = _text(document.get("event_id"))
    # `--id` also takes an event id or an email.
    ids |= {name for name in (event_id, email) if name}
    assert moment is not None  # `holds` is False without one
    if selection.types and event_type not in selection.types:
        return None
    if selection.ids and not (selection.ids & ids):
        return None
    if selection.emails and email not in selection.emails:
        return None
    return Picked(partition, offset, key, value, event_type, moment, email, ids)


def last_of_each(topic: str, picked: Iterable[Picked]) -> list[Picked]:
    """On the raw topic, only each entity's last record in the window (a replayed raw record
    restates its entity whole, so one is enough); a normalized topic's records all stay. In
    topic order per partition."""
    chosen = list(picked)
    if topic == RAW:
        last: dict[tuple[int, bytes | None], Picked] = {}
        for record in chosen:
            last[(record.partition, record.key)] = record
        chosen = list(last.values())
    return sorted(chosen, key=lambda record: (record.partition, record.offset))


def in_partitions(picked: Iterable[Picked]) -> Iterator[tuple[int, list[Picked]]]:
    """The records by partition, in offset order."""
    by: dict[int, list[Picked]] = {}
    for record in picked:
        by.setdefault(record.partition, []).append(record)
    for partition in sorted(by):
        yield partition, sorted(by[partition], key=lambda record: record.offset)
