"""When Cartwright received an event, carried in a header from the raw topic to the sink, so the
sink can tell how long the webhook-to-Dotdigital path took, lane by lane."""

from __future__ import annotations

from collections.abc import Mapping

from schemas.contract.replay import Headers, replay_headers

# Milliseconds since the epoch, as ASCII digits: the raw record's own timestamp (the webhook's
# receipt, or the backfill's or journal's read), set by normalize and passed on by the join.
RECEIVED_HEADER = "cartwright-received"


def received_at(headers: Headers) -> float | None:
    """The receipt time a record carries (seconds since the epoch), or None."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if name == RECEIVED_HEADER:
            digits = bytes(value or b"")
            return int(digits) / 1000 if digits.isdigit() and len(digits) <= 16 else None
    return None


def next_hop(run: str | None, received: float | None) -> list[tuple[str, bytes]] | None:
    """The headers a record passes on: a replay's run (its latency means nothing), else the
    receipt time when known."""
    if run is not None or received is None:
        return replay_headers(run)
    return [(RECEIVED_HEADER, str(round(received * 1000)).encode())]
