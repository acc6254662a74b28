"""Which dead letters `replay --dead-letters` puts back: of the asked reasons, time and ids, not
marked replayed before, and only those that can go back where they came from whole."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.contract.incidents import DeadLetter, Reason
from schemas.contract.topics import (
    CARTS,
    COMMERCE_WRITES,
    CONSENT_OBSERVED,
    CUSTOMERS,
    IDENTITY,
    ORDERS,
    RAW,
    REFUNDS,
    STOREFRONT_CARTS,
    STOREFRONT_CLAIMS,
    STOREFRONT_EVENTS,
    STOREFRONT_RAW,
    TICKS,
    WRITES,
    WRITES_REALTIME,
)

# The topics an agent reads, so a dead letter from one of them has somewhere to go back to.
# (tests/unit/streams/sources/replay/test_dead_letters.py checks them against the worker's agents.)
PUT_BACK_ON = frozenset(
    {
        RAW,
        ORDERS,
        CUSTOMERS,
        REFUNDS,
        CARTS,
        IDENTITY,
        CONSENT_OBSERVED,
        STOREFRONT_RAW,
        STOREFRONT_EVENTS,
        STOREFRONT_CARTS,
        STOREFRONT_CLAIMS,
        WRITES,
        WRITES_REALTIME,
        COMMERCE_WRITES,
    }
)
# Topics an agent reads whose dead letters are still left where they are, and why.
LEFT_ALONE = {TICKS: "a clock tick, worth nothing once read (the ticker sends fresh ones)"}
# `Incidents.dead_letter` notes in the detail that it cut the original (the detail itself may
# have been cut before the note, hence the length check as well).
TRUNCATED_NOTE = "(original truncated from"
# Where a dead letter's original names what it is about: envelope and entity levels of a raw
# event, a normalized event, a write command and the record it carries.
_NESTED = ("data", "value", "command", "record")
_ID_FIELDS = (
    "id",
    "eventid",
    "event_id",
    "source_event_id",
    "consent_event_id",
    "increment_id",
    "original_increment_id",
    "order_increment_id",
    "entity_id",
    "order_id",
    "customer_id",
    "quote_id",
    "sku",
)
_EMAIL_FIELDS = ("email", "customer_email", "previous_email")
_MAX_ID = 320
_MAX_DEPTH = 3


@dataclass(frozen=True)
class DeadLetterSelection:
    """Which dead letters to put back: of these reasons, dead-lettered at or after `since`, about
    these ids (empty or None: any). An id is what an operator has in hand: the dead letter's key
    (an email, `order:<entity id>`) or its place in the report (`deadletter:<partition>:<offset>`),
    or an event id, order number, order/customer/quote id, SKU or email found in the original."""

    reasons: frozenset[Reason] = frozenset()
    since: datetime | None = None
    ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Letter:
    """A dead letter as read, with its own place on the dead-letter topic."""

    partition: int
    offset: int
    letter: DeadLetter

    @property
    def mark_key(self) -> str:
        return mark_key(self.partition, self.offset)


def mark_key(partition: int, offset: int) -> str:
    """The key of a dead letter's mark on `cartwright.replayed.v1`, and its name in the report."""
    return f"deadletter:{partition}:{offset}"


def normalized_id(text: str) -> str:
    """An id as compared: trimmed, case-folded (emails, event ids), an order's `#` dropped."""
    return text.strip().removeprefix("#").strip().casefold()


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    if len(text) > _MAX_ID:
        return None
    return normalized_id(text) or None


def _document(original: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(original)
    except orjson.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def _levels(document: dict[str, Any], depth: int = 0) -> Iterator[dict[str, Any]]:
    yield document
    if depth >= _MAX_DEPTH:
        return
    for name in _NESTED:
        nested = document.get(name)
        if isinstance(nested, dict):
            yield from _levels(nested, depth + 1)


def _subject_ids(subject: str) -> set[str]:
    """`order 000000123` → the whole and `000000123`; `cart 52 (abandoned)` → `52` too."""
    words = [word.strip("()[],") for word in subject.split()[1:]]
    return {text for text in (_text(subject), *(_text(w) for w in words)) if text}


def identifiers(letter: Letter) -> frozenset[str]:
    """Every id an operator may name this dead letter by (normalized as `normalized_id`)."""
    found = {letter.mark_key, f"{letter.partition}:{letter.offset}"}
    key = letter.letter.key
    if key:
        found |= {text for text in (_text(key), _text(key.partition(":")[2])) if text}
    for level in _levels(_document(letter.letter.original())):
        for name in (*_ID_FIELDS, *_EMAIL_FIELDS):
            text = _text(level.get(name))
            if text:
                found.add(text)
        subject = level.get("subject")
        if isinstance(subject, str) and len(subject) <= _MAX_ID:
            found |= _subject_ids(subject)
    return frozenset(found)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def selects(selection: DeadLetterSelection, letter: Letter) -> bool:
    """Whether `letter` is of the selection's reasons, time and ids."""
    dead = letter.letter
    if selection.reasons and dead.reason not in selection.reasons:
        return False
    if selection.since is not None and _aware(dead.at) < _aware(selection.since):
        return False
    if selection.ids:
        wanted = {normalized_id(i) for i in selection.ids} - {""}
        if not wanted & identifiers(letter):
            return False
    return True


def unfit(letter: Letter, *, max_original: int) -> str | None:
    """Why `letter` cannot be put back where it came from (None: it can)."""
    dead = letter.letter
    if dead.source_topic in LEFT_ALONE:
        return LEFT_ALONE[dead.source_topic]
    if dead.source_topic not in PUT_BACK_ON:
        return f"came from {dead.source_topic}, which no agent reads: nowhere to put it back"
    if TRUNCATED_NOTE in dead.detail or len(dead.original()) >= max_original:
        return "its original was cut to fit the dead-letter topic: what is left is not the record"
    return None


@dataclass
class Sorting:
    """The selected dead letters: to put back, put back before (marked), and left with a why."""

    replay: list[Letter] = field(default_factory=list)
    already: list[Letter] = field(default_factory=list)
    skipped: list[tuple[Letter, str]] = field(default_factory=list)


def sort_letters(
    letters: Iterable[Letter],
    marked: Collection[str],
    selection: DeadLetterSelection,
    *,
    max_original: int,
) -> Sorting:
    """The dead letters `selection` picks, sorted: `marked` holds the mark keys of those put back
    before. In dead-letter order (partition, offset)."""
    sorting = Sorting()
    for letter in sorted(letters, key=lambda one: (one.partition, one.offset)):
        if not selects(selection, letter):
            continue
        if letter.mark_key in marked:
            sorting.already.append(letter)
            continue
        why = unfit(letter, max_original=max_original)
        if why is None:
            sorting.replay.append(letter)
        else:
            sorting.skipped.append((letter, why))
    return sorting


def subject(letter: Letter) -> str:
    """What an operator calls the dead letter's record (addresses not masked: the caller masks):
    a write command's subject and kind, else its key, with its source topic."""
    document = _document(letter.letter.original())
    command = document.get("command")
    about = command if isinstance(command, dict) else document
    named = about.get("subject")
    kind = about.get("kind")
    email = about.get("email")
    text = str(named) if isinstance(named, str) and named else (letter.letter.key or "no key")
    if isinstance(kind, str) and isinstance(command, dict):
        text = f"{kind}: {text}"
    if isinstance(email, str) and email and email not in text:
        text = f"{text} ({email})"
    return text[:_MAX_ID]
