"""The accounting of what the cases carried: each event on the raw topic, dead-lettered, or nowhere.

Events are found by their markers (uuids, or `marker-<uuid>`) in the bytes of raw records and
of dead letters' originals, indexed once per read rather than searched per event.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from schemas.contract.topics import RAW
from tests.support.hostile.case import Carried, Case, Fate

_MARKER = re.compile(rb"(?:marker-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Stored:
    """A record of the raw topic."""

    key: str | None
    value: bytes


@dataclass(frozen=True)
class Letter:
    """A dead letter: its reason, where it came from, and the original it holds."""

    reason: str
    source_topic: str
    original: bytes

    @property
    def at_webhook(self) -> bool:
        """Written while a delivery was read, not by an agent consuming the raw topic."""
        return self.source_topic != RAW


def letter_of(value: bytes) -> Letter:
    found = orjson.loads(value)
    original = base64.b64decode(found.get("original_b64", ""))
    return Letter(str(found.get("reason")), str(found.get("source_topic")), original)


def _markers(value: bytes) -> set[str]:
    found = set()
    for match in _MARKER.finditer(value):
        token = match.group().decode()
        found.add(token)
        found.add(token.removeprefix("marker-"))
    return found


class Ledger:
    """What the raw and dead-letter topics hold, by marker."""

    def __init__(
        self, stored: Iterable[Stored], letters: Iterable[Letter], normalized: Iterable[str] = ()
    ) -> None:
        self.normalized = set(normalized)  # the event ids the normalizer published
        self.stored: dict[str, list[Stored]] = defaultdict(list)
        self.letters: dict[str, list[Letter]] = defaultdict(list)
        for record in stored:
            for found in _markers(record.value):
                self.stored[found].append(record)
        for letter in letters:
            for found in _markers(letter.original):
                self.letters[found].append(letter)

    def problems(self, carried: Carried) -> list[str]:
        """What is wrong with what became of one event (nothing: an empty list)."""
        on_raw = self.stored.get(carried.marker, [])
        letters = self.letters.get(carried.marker, [])
        at_webhook = [letter for letter in letters if letter.at_webhook]
        later = [letter for letter in letters if not letter.at_webhook]
        fate = carried.fate
        if fate is Fate.ACCOUNTED:
            if not on_raw and not at_webhook:
                return ["unaccounted: neither on the raw topic nor dead-lettered"]
            fate = Fate.STORED if on_raw else Fate.DEAD
        if fate is Fate.STORED:
            return self._stored(carried, on_raw, later)
        if on_raw:
            return [f"on the raw topic ({len(on_raw)}x) though it must not be stored"]
        if fate is Fate.DEAD:
            return self._dead(carried, at_webhook)
        if fate is Fate.REFUSED and letters:
            return [f"dead-lettered ({_reasons(letters)}) though its delivery was refused"]
        return []

    def _stored(self, carried: Carried, on_raw: list[Stored], later: list[Letter]) -> list[str]:
        if not on_raw:
            return ["not on the raw topic"]
        found = []
        if len(on_raw) > 1:
            found.append(f"on the raw topic {len(on_raw)} times")
        if carried.key is not None and on_raw[0].key != carried.key:
            found.append(f"raw key {on_raw[0].key!r}, expected {carried.key!r}")
        wanted = {str(reason) for reason in carried.later}
        if wanted and not any(letter.reason in wanted for letter in later):
            seen = _reasons(later) or "none"
            found.append(f"not dead-lettered by the normalizer as {sorted(wanted)} (seen: {seen})")
        elif carried.processed and not later and carried.marker not in self.normalized:
            found.append("lost after the raw topic: neither normalized nor dead-lettered")
        return found

    @staticmethod
    def _dead(carried: Carried, at_webhook: list[Letter]) -> list[str]:
        if not at_webhook:
            return ["neither on the raw topic nor dead-lettered"]
        wanted = {str(reason) for reason in carried.reasons}
        if wanted and not any(letter.reason in wanted for letter in at_webhook):
            return [f"dead-lettered as {_reasons(at_webhook)}, expected {sorted(wanted)}"]
        if carried.once and len(at_webhook) != 1:
            return [f"{len(at_webhook)} dead letters, expected exactly one"]
        return []


def _reasons(letters: Iterable[Letter]) -> str:
    return ", ".join(sorted({letter.reason for letter in letters}))


def unaccounted(cases: Iterable[Case], ledger: Ledger) -> dict[str, list[str]]:
    """Every case with an event whose fate is wrong, and what is wrong, by case name."""
    found: dict[str, list[str]] = {}
    for case in cases:
        wrong = [
            f"{carried.marker[:20]}: {problem}"
            for carried in case.carried
            for problem in ledger.problems(carried)
        ]
        if wrong:
            found[case.name] = wrong
    return found
