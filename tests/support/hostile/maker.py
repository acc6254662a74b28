"""Making cases: a body, its headers (signed, forged or none) and what must become of its events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sandbox.commerce.simulator.events import CUSTOMER_SAVED, ORDER_SAVED, SUBSCRIBER_SAVED
from schemas.contract.incidents import Reason
from tests.support.hostile.case import Carried, Case, Fate, Kind, Slow
from tests.support.hostile.envelopes import Envelopes, Signatures, encode, event_id

OK = frozenset({200})
ALWAYS_NORMALIZED = frozenset({ORDER_SAVED, CUSTOMER_SAVED, SUBSCRIBER_SAVED})
Path = tuple[str | int, ...]
ABSENT = object()  # `put(..., ABSENT)` removes the field


def put(document: Any, path: Path, value: Any) -> Any:
    """`document` with the field at `path` set to `value` (or removed), creating objects on the way."""
    *parents, last = path
    here = document
    for part in parents:
        if isinstance(part, int):
            here = here[part]
        else:
            if not isinstance(here.get(part), dict | list):
                here[part] = {}
            here = here[part]
    if value is ABSENT:
        if isinstance(here, dict):
            here.pop(last, None)
    else:
        here[last] = value
    return document


def marker() -> str:
    """A string unique to one event, for events that carry no usable id of their own."""
    return f"marker-{uuid.uuid4()}"


class Maker:
    """Builds the cases of one run: fresh envelopes, signed with the stack's published keys."""

    def __init__(self, envelopes: Envelopes, signatures: Signatures) -> None:
        self.envelopes = envelopes
        self.signatures = signatures
        self.client_id = envelopes.client_id

    def signed(
        self,
        name: str,
        kind: Kind,
        body: bytes,
        carried: Iterable[Carried],
        answers: frozenset[int] = OK,
        slow: Slow | None = None,
    ) -> Case:
        carried = tuple(carried)
        first = carried[0].marker if carried else ""
        headers = self.signatures.signed(body, first)
        return Case(name, kind, body, headers, True, answers, carried, slow)

    def forged(self, name: str, kind: Kind, body: bytes, carried: Iterable[Carried]) -> Case:
        """Signed with keys nobody published: refused, and nothing of it stored."""
        carried = tuple(carried)
        headers = self.signatures.forged(body, carried[0].marker if carried else "")
        return Case(name, kind, body, headers, False, frozenset({401}), carried)

    def unsigned(
        self,
        name: str,
        kind: Kind,
        body: bytes,
        carried: Iterable[Carried],
        answers: frozenset[int] = frozenset({401}),
        headers: dict[str, str] | None = None,
        slow: Slow | None = None,
    ) -> Case:
        chosen = headers if headers is not None else self.signatures.unsigned()
        return Case(name, kind, body, chosen, False, answers, tuple(carried), slow)

    def one(
        self,
        name: str,
        kind: Kind,
        event: dict[str, Any],
        fate: Fate = Fate.STORED,
        *,
        reasons: Iterable[Reason] = (),
        later: Iterable[Reason] = (),
        key: str | None = None,
        answers: frozenset[int] = OK,
        mark: str | None = None,
    ) -> Case:
        """A signed delivery of one event, found by its id (or by `mark`, written in `data.key`)."""
        if mark is not None and isinstance(event.get("data"), dict):
            event["data"]["key"] = mark
        found = mark or event_id(event)
        # The first save of a fresh order, customer or subscriber always changes something.
        processed = mark is None and event.get("type") in ALWAYS_NORMALIZED
        carried = Carried(
            found, fate, frozenset(reasons), frozenset(later), key, processed=processed
        )
        return self.signed(name, kind, encode(event), [carried], answers)
