"""One hostile input: what is sent, how, the answers allowed, and what must become of its events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas.contract.incidents import Reason

# The status of a connection the worker closed without answering (only allowed where said).
CLOSED = 0
# A 5xx is only allowed when the broker did not acknowledge, which these cases never arrange.
ADOBE_DEADLINE = 10.0


class Kind(StrEnum):
    """The classes of hostile input the issue names (and the good controls sent among them)."""

    GOOD = "good"
    UNSIGNED = "unsigned"
    FORGED = "forged"
    OVERSIZED = "oversized"
    SLOW = "slow"
    DEEP = "deep"
    WIDE = "wide"
    HUGE_ARRAY = "huge_array"
    ENVELOPE_TYPE = "envelope_type"
    PAYLOAD_TYPE = "payload_type"
    NUMBER = "number"
    EMAIL = "email"
    PATH = "path"
    RECIPIENT = "recipient"


class Fate(StrEnum):
    """What must become of one event a case carries."""

    STORED = "stored"  # on the raw topic, exactly once
    DEAD = "dead"  # not on the raw topic; dead-lettered by the webhook
    REFUSED = "refused"  # nowhere: not on the raw topic, in no dead letter (a refused delivery)
    NOT_STORED = "not_stored"  # not on the raw topic; a dead letter or none
    ACCOUNTED = "accounted"  # on the raw topic or dead-lettered, as the reader takes the field


@dataclass(frozen=True)
class Carried:
    """One event of a case, found by `marker` (a string unique to it, in its bytes: its id when it
    has a usable one). `reasons` are the dead letters allowed at the webhook (empty: any named
    reason); `later` the reasons the normalizer must dead-letter it with once stored; `key` the
    raw-topic key it must be stored under; `once`: exactly one dead letter holds it; `processed`:
    once stored, the normalizer must publish it (by its id) or dead-letter it."""

    marker: str
    fate: Fate
    reasons: frozenset[Reason] = frozenset()
    later: frozenset[Reason] = frozenset()
    key: str | None = None
    once: bool = False
    processed: bool = False


@dataclass(frozen=True)
class Slow:
    """A request written over a raw socket: the head (finished or not), `sent` at once, then
    `trickle` in `piece`-byte writes each time no answer came for `every` seconds, or a chunked
    body of `stream` bytes written as fast as the worker takes it."""

    declared_length: int | None
    sent: bytes = b""
    trickle: bytes = b""
    piece: int = 1
    every: float = 1.0
    finish_head: bool = True
    stream: int = 0


@dataclass(frozen=True)
class Case:
    """One hostile input: `body` with `headers` (signed ones carry Adobe's signature headers),
    sent whole over HTTP unless `slow` says how to send it over a socket."""

    name: str
    kind: Kind
    body: bytes
    headers: dict[str, str]
    signed: bool
    answers: frozenset[int]
    carried: tuple[Carried, ...] = ()
    slow: Slow | None = None
