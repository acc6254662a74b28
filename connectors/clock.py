"""Injectable time for the Dotdigital connector: clocks and sleep, so tests never wait."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
"""Seconds as a float: `time.monotonic` for intervals, `time.time` for epoch comparisons."""

Sleep = Callable[[float], Awaitable[None]]
"""Suspend for a number of seconds: `asyncio.sleep` in production, a recorder in tests."""
