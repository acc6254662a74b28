"""Time that moves only when a test says so: a monotonic clock, a wall clock and a recording sleep."""

from __future__ import annotations


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

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.wall += seconds
