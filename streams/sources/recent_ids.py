"""Recently seen Adobe event ids: a bounded, time-limited memory so redeliveries are dropped."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class RecentIds:
    """Remembers ids for `ttl` seconds, at most `capacity` of them (oldest forgotten first)."""

    def __init__(
        self,
        capacity: int = 200_000,
        ttl: float = 24 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._capacity = capacity
        self._ttl = ttl
        self._clock = clock

    def __contains__(self, event_id: object) -> bool:
        if not isinstance(event_id, str):
            return False
        seen_at = self._seen.get(event_id)
        return seen_at is not None and self._clock() - seen_at < self._ttl

    def __len__(self) -> int:
        return len(self._seen)

    @property
    def capacity(self) -> int:
        return self._capacity

    def add(self, event_id: str) -> None:
        self._seen[event_id] = self._clock()
        self._seen.move_to_end(event_id)
        self._expire()

    def _expire(self) -> None:
        now = self._clock()
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if len(self._seen) <= self._capacity and now - seen_at < self._ttl:
                break
            del self._seen[oldest]
