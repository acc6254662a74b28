"""Call budgets: per-tier fixed minute windows, or the flat 2,000-per-rolling-hour cap.

Which endpoint belongs to which tier is declared beside each route (see `api/`):
imports and large reads are Low, single contact/insight reads and writes and v2 consent
calls are Medium, account-info is High. Nothing is Unlimited unless configured.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sandbox.dotdigital.account.config import RateMode, ResetFormat

WINDOW_SECONDS = 60.0
HOUR_SECONDS = 3600.0


class Tier(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    UNLIMITED = "unlimited"


@dataclass(frozen=True)
class Verdict:
    """Whether a call may proceed, and the headers its response carries."""

    allowed: bool
    headers: dict[str, str]
    hourly_cap: bool = False  # denied by the flat hourly cap (a v2 error, not a 429)


@dataclass
class _Window:
    start: float
    used: int


@dataclass
class LimitStats:
    """Counters for the admin stats page."""

    calls: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    hourly_capped: int = 0


class RateLimiter:
    """Counts calls per tier (tiered) or per rolling hour (flat) against an injectable clock."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        budgets: Mapping[str, int | None],
        mode: RateMode,
        reset_format: ResetFormat,
        hourly_limit: int,
    ) -> None:
        self._clock = clock
        self.stats = LimitStats()
        self.budgets: dict[str, int | None] = dict(budgets)
        self.mode: RateMode = mode
        self.reset_format: ResetFormat = reset_format
        self.hourly_limit = hourly_limit
        self._windows: dict[str, _Window] = {}
        self._hour: deque[list[float]] = deque()  # [second, count] buckets, oldest first

    def configure(
        self,
        *,
        budgets: Mapping[str, int | None] | None = None,
        mode: RateMode | None = None,
        reset_format: ResetFormat | None = None,
        hourly_limit: int | None = None,
    ) -> None:
        """Change limits at runtime; counting starts afresh."""
        if budgets is not None:
            self.budgets.update(budgets)
        self.mode = mode or self.mode
        self.reset_format = reset_format or self.reset_format
        self.hourly_limit = hourly_limit or self.hourly_limit
        self._windows.clear()
        self._hour.clear()

    def charge(self, tier: Tier, *, hourly: bool = True) -> Verdict:
        """Spend one call of `tier`. `hourly=False` exempts it from the flat cap (enrolments)."""
        now = self._clock()
        self.stats.calls[tier.value] = self.stats.calls.get(tier.value, 0) + 1
        if self.mode == "flat":
            if not hourly:
                return Verdict(True, self._flat_headers(now))
            if self.calls_in_last_hour() >= self.hourly_limit:
                self.stats.hourly_capped += 1
                return Verdict(False, self._flat_headers(now), hourly_cap=True)
            self._count_hourly(now)
            return Verdict(True, self._flat_headers(now))
        if hourly:
            self._count_hourly(now)
        budget = self.budgets.get(tier.value)
        if budget is None:
            return Verdict(True, {})
        window = self._window(tier, now)
        if window.used >= budget:
            self.stats.rate_limited += 1
            return Verdict(False, self._tier_headers(tier, budget, window, now))
        window.used += 1
        return Verdict(True, self._tier_headers(tier, budget, window, now))

    def exhausted_headers(self, tier: Tier) -> dict[str, str]:
        """Headers for a forced 429 (fault injection): the tier's figures with nothing left."""
        now = self._clock()
        if self.mode == "flat":
            headers = self._flat_headers(now)
        else:
            budget = self.budgets.get(tier.value) or 0
            headers = self._tier_headers(tier, budget, self._window(tier, now), now)
        headers["X-RateLimit-Remaining"] = "0"
        return headers

    def calls_in_last_hour(self) -> int:
        self._prune(self._clock())
        return int(sum(count for _, count in self._hour))

    def _window(self, tier: Tier, now: float) -> _Window:
        start = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS
        window = self._windows.get(tier.value)
        if window is None or window.start != start:
            window = _Window(start, 0)
            self._windows[tier.value] = window
        return window

    def _tier_headers(self, tier: Tier, budget: int, window: _Window, now: float) -> dict[str, str]:
        return self._headers(
            budget, budget - window.used, window.start + WINDOW_SECONDS, now, tier.value
        )

    def _flat_headers(self, now: float) -> dict[str, str]:
        used = self.calls_in_last_hour()
        reset_at = self._hour[0][0] + 1 + HOUR_SECONDS if self._hour else now + HOUR_SECONDS
        return self._headers(self.hourly_limit, self.hourly_limit - used, reset_at, now, "hourly")

    def _headers(
        self, limit: int, remaining: int, reset_at: float, now: float, scope: str
    ) -> dict[str, str]:
        if self.reset_format == "epoch":
            reset = math.ceil(reset_at)
        else:
            reset = max(1, math.ceil(reset_at - now))
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Scope": scope,
        }

    def _count_hourly(self, now: float) -> None:
        second = math.floor(now)
        if self._hour and self._hour[-1][0] == second:
            self._hour[-1][1] += 1
        else:
            self._hour.append([second, 1])

    def _prune(self, now: float) -> None:
        while self._hour and self._hour[0][0] + 1 + HOUR_SECONDS <= now:
            self._hour.popleft()
