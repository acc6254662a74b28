"""ISO 8601 timestamps as Dotdigital writes and reads them (UTC, milliseconds, `Z`)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(seconds: float) -> str:
    """Epoch seconds as `2024-05-01T12:00:00.000Z`."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    """Epoch seconds from an ISO date or date-time; no offset means UTC. ValueError if malformed."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
