"""Time that moves only when a test says so: a monotonic clock, a wall clock and a recording sleep."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


class FakeTime:
    """Monotonic and wall clocks, and a sleep that records and advances them."""

    def __init__(self, now: float = 100.0, wall: float = 1_700_000_000.0) -> None:
        self.now = now
        self.wall = wall
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall_clock(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        """Let time pass on both clocks without anyone sleeping."""
        self.now += seconds
        self.wall += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def sleep_noting(self, waits: list[float]) -> Callable[[float], Awaitable[None]]:
        """Another sleep on the same clocks that notes its waits in `waits`, not in `sleeps`
        (to tell one sleeper's waits from another's)."""

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            self.advance(seconds)

        return sleep
