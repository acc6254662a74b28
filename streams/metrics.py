"""Counters of what flowed through this worker, for the status page."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Metrics:
    """Monotonic counters by name; read by `/ops/status`."""

    started_at: float = field(default_factory=time.time)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] += amount

    def snapshot(self) -> dict[str, object]:
        return {
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "counts": dict(sorted(self.counts.items())),
        }
