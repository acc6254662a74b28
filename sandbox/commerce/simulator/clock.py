"""The store's simulated clock: moves only when told, never backwards, never reads wall time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class SimulatedClock:
    """Store time; traffic and tests advance it, everything the store records reads it."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self.start = start
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now

    def advance_to(self, moment: datetime) -> datetime:
        """Move forward to `moment` (a moment already past leaves the clock where it is)."""
        self._now = max(self._now, moment)
        return self._now

    def elapsed(self) -> float:
        return (self._now - self.start).total_seconds()
