"""Replay after an incident: the marker replayed records carry, the raw topic's event-time index,
and the marks of dead letters put back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from schemas.contract.incidents import Reason
from schemas.contract.topics import RAW

# A record a window replay put back on its topic carries this header, its value the replay run's
# id. Agents re-derive what such a record stands for from their current tables, with today's code,
# and send it again as upserts; they never fold it as news (it is not).
REPLAY_HEADER = "cartwright-replay"
# A dead letter put back on its source topic by `replay --dead-letters` carries this header, its
# value the dead letter's place (`<partition>:<offset>` on `cartwright.deadletter.v1`). Unlike a
# window replay's, such a record is news: it was never processed, so agents take it as they would
# have the first time; the header only lets a trace tell where it came from.
DEAD_LETTER_HEADER = "cartwright-dead-letter"

# Kafka headers as clients hand them over: (name, value) pairs, or a mapping.
Headers = Sequence[tuple[str, bytes]] | Mapping[str, bytes] | None


def replay_run(headers: Headers) -> str | None:
    """The replay run a record was put back by, or None for a record that is news."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if name == REPLAY_HEADER:
            return bytes(value or b"").decode(errors="replace") or "replay"
    return None


def replay_headers(run: str | None) -> list[tuple[str, bytes]] | None:
    """The headers that carry `run` on to the next hop (None: a record that is news)."""
    return None if run is None else [(REPLAY_HEADER, run.encode())]


class IndexBlock(BaseModel):
    """`cartwright.raw.index.v1` (key: the raw partition, as text): the event times of one run of
    consecutive raw records, as the normalize agent read them. Every record from `first_offset`
    to `last_offset` of `partition` is summed up here, so a replay may skip the run when the
    window misses [`earliest`, `latest`]; records with no event time are never selected."""

    schema_version: int = 1
    topic: str = RAW
    partition: int = Field(ge=0)
    first_offset: int = Field(ge=0)
    last_offset: int = Field(ge=0)
    count: int = Field(ge=0, description="records in the run")
    earliest: datetime | None = Field(default=None, description="the earliest event time")
    latest: datetime | None = Field(default=None, description="the latest event time")


class ReplayedDeadLetter(BaseModel):
    """`cartwright.replayed.v1` (key: `deadletter:<partition>:<offset>`): a dead letter put back
    on its source topic, so a second `replay --dead-letters` leaves it alone."""

    schema_version: int = 1
    dead_letter_partition: int
    dead_letter_offset: int
    reason: Reason
    source_topic: str
    run: str = Field(description="the replay run's id")
    replayed_at: datetime
