"""Counters and latencies of what flowed through this worker, for the status page."""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field

# Recent observations kept per latency: enough for a stable p95, small enough to sort per read.
WINDOW = 1_000


@dataclass
class Latency:
    """One latency: how many were observed in all, and the most recent `window` of them."""

    window: int = WINDOW
    count: int = 0
    recent: deque[float] = field(init=False)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("a latency window holds at least one observation")
        self.recent = deque(maxlen=self.window)

    def observe(self, seconds: float) -> None:
        if math.isnan(seconds):
            raise ValueError("a latency is a number of seconds, not NaN")
        self.count += 1
        self.recent.append(seconds)

    def summary(self) -> dict[str, float | int]:
        """`count` since start; `p50`, `p95` (nearest rank) and `max` over the window, in seconds."""
        ordered = sorted(self.recent)
        return {
            "count": self.count,
            "p50": round(nearest_rank(ordered, 50), 3),
            "p95": round(nearest_rank(ordered, 95), 3),
            "max": round(ordered[-1], 3),
        }


def nearest_rank(ordered: list[float], percent: float) -> float:
    """The smallest value with at least `percent` % of `ordered` (sorted, not empty) at or below."""
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Metrics:
    """Monotonic counters and latency windows by name; read by `/ops/status`."""

    started_at: float = field(default_factory=time.time)
    counts: Counter[str] = field(default_factory=Counter)
    window: int = WINDOW
    latencies: dict[str, Latency] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("a latency window holds at least one observation")

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] += amount

    def observe(self, name: str, seconds: float) -> None:
        """Record one latency (no clock is read: the caller measured it)."""
        latency = self.latencies.get(name) or Latency(self.window)
        latency.observe(seconds)  # refuses NaN before a new name is shown with nothing in it
        self.latencies[name] = latency

    def snapshot(self) -> dict[str, object]:
        return {
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "counts": dict(sorted(self.counts.items())),
            "latencies": {
                name: latency.summary() for name, latency in sorted(self.latencies.items())
            },
        }
