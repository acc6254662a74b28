"""Dotdigital's per-tier call budgets: aiolimiter buckets plus holds learned from response headers.

Which tier each client operation spends (`OPERATION_TIERS`). Dotdigital publishes only one
figure (Low on the Basic package: 35 calls/minute); every budget is therefore configuration.

| tier      | operations                                                                     |
| --------- | ------------------------------------------------------------------------------ |
| Low       | bulk imports (contacts, insight data) and the change/consent feeds             |
| Medium    | single contact and insight-record reads and writes, import status polls,       |
|           | unsubscribe/resubscribe, program enrolment                                     |
| High      | account info (region discovery)                                                |
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from aiolimiter import AsyncLimiter

from connectors.clock import Clock, Sleep
from connectors.errors import remaining_calls, reset_after

FLAT_LIMIT_CODE = "ERROR_APIUSAGE_EXCEEDED"
# Tier budgets are per minute, counted by Dotdigital in fixed windows.
WINDOW_SECONDS = 60.0
# How far a reported window end may be from the one counted in and still be that window
# (`X-RateLimit-Reset` is whole seconds).
WINDOW_SLACK = 2.0


def is_hourly_scope(headers: Mapping[str, str]) -> bool:
    """Whether rate-limit headers speak of the flat hourly cap rather than a tier."""
    scope = next((v for k, v in headers.items() if k.lower() == "x-ratelimit-scope"), "")
    return scope.strip().lower() == "hourly"


logger = logging.getLogger(__name__)


class Tier(StrEnum):
    """Dotdigital's rate-limit tiers; every call belongs to exactly one."""

    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"
    UNLIMITED = "Unlimited"


OPERATION_TIERS: Mapping[str, Tier] = {
    "account_info": Tier.HIGH,
    "upsert_contact": Tier.MEDIUM,
    "get_contact": Tier.MEDIUM,
    "put_insight_record": Tier.MEDIUM,
    "get_insight_record": Tier.MEDIUM,
    "list_contact_insight": Tier.MEDIUM,
    "list_account_insight": Tier.LOW,
    # A status poll is a small single read; on Low it would starve the imports it is waiting for.
    "insight_import_report": Tier.MEDIUM,
    "contact_import_report": Tier.MEDIUM,
    "unsubscribe": Tier.MEDIUM,
    "resubscribe": Tier.MEDIUM,
    "enrol": Tier.MEDIUM,
    "start_insight_import": Tier.LOW,
    "start_contact_import": Tier.LOW,
    "modified_contacts": Tier.LOW,
    "unsubscribed_since": Tier.LOW,
    "suppressed_since": Tier.LOW,
}

# Program enrolments do not count towards the flat hourly limit of older accounts.
FLAT_LIMIT_EXEMPT: frozenset[str] = frozenset({"enrol"})


@dataclass(frozen=True)
class TierBudgets:
    """Calls per minute per tier (None: no client-side limit), and the optional flat hourly cap.

    A worker's share of an account may be a fraction of a call per minute, or 0: no calls at all
    until its limiter is given other budgets.
    """

    low: float | None = 35.0
    medium: float | None = 150.0
    high: float | None = 500.0
    unlimited: float | None = None
    flat_hourly: float | None = None  # 2,000 on accounts still on the flat limit

    def __post_init__(self) -> None:
        for name in ("low", "medium", "high", "unlimited", "flat_hourly"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} budget must be 0 calls or more (or None), got {value}")

    def per_minute(self, tier: Tier) -> float | None:
        return {
            Tier.LOW: self.low,
            Tier.MEDIUM: self.medium,
            Tier.HIGH: self.high,
            Tier.UNLIMITED: self.unlimited,
        }[tier]


class TierLimiter:
    """Spends tier budgets before each call and holds a tier the server says is spent.

    The steady per-minute rate is an `AsyncLimiter` per tier (it schedules on the event loop's
    clock). Holds learned from `X-RateLimit-Remaining: 0` or a 429 use the injected `clock` and
    `sleep`, because those waits are long (up to a minute) and tests must not really take them.
    """

    def __init__(
        self,
        budgets: TierBudgets | None = None,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        background_reserve: Mapping[Tier, float] | None = None,
    ) -> None:
        self.budgets = budgets or TierBudgets()
        # Only tiers that realtime calls spend need a reserve (single writes are Medium).
        self._reserve_fraction = (
            {Tier.MEDIUM: 0.2} if background_reserve is None else dict(background_reserve)
        )
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._buckets: dict[Tier, AsyncLimiter | None] = {
            tier: _bucket(self.budgets.per_minute(tier), 60.0) for tier in Tier
        }
        self._hourly = _bucket(self.budgets.flat_hourly, 3600.0)
        # Set (and replaced) by every rescale: what callers of a closed (0) budget wait for.
        self._rescaled = asyncio.Event()
        self._held_until: dict[Tier, float] = dict.fromkeys(Tier, 0.0)
        # The flat hourly cap is the account's, across tiers; enrolments are exempt from it.
        self._hourly_held_until = 0.0
        # What the server last said is left in its current window, and calls sent since.
        self._remaining: dict[Tier, int | None] = dict.fromkeys(Tier)
        self._window_ends: dict[Tier, float] = dict.fromkeys(Tier, 0.0)
        self._in_flight: dict[Tier, int] = dict.fromkeys(Tier, 0)
        # Calls sent in the server's current window: Dotdigital counts fixed minutes, in which a
        # leaky bucket alone can spend up to twice its rate (a full burst, then a minute's leak).
        self._sent_in_window: dict[Tier, int] = dict.fromkeys(Tier, 0)
        # Calls sent so near the window's end that the server may count them in the next.
        self._sent_at_edge: dict[Tier, int] = dict.fromkeys(Tier, 0)

    async def acquire(self, tier: Tier, *, hourly: bool = True, background: bool = False) -> None:
        """Wait until `tier` may make one more call, then spend it; pair with `release`.

        Background callers (the batch lane) leave a reserve of each tier's budget untouched, so
        realtime calls never queue behind them.
        """
        while True:
            # Re-check after each wait: another response may have extended the hold meanwhile.
            while (wait := self._wait_before(tier, hourly=hourly, background=background)) > 0:
                logger.info(
                    "rate-limit tier %s held for %.1f s",
                    tier,
                    wait,
                    extra={"tier": str(tier), "wait_s": wait, "background": background},
                )
                await self._sleep(wait)
            # A call spends the bucket current when it goes out: one rescaled while it waited
            # is spent again from the new bucket.
            while not await self._spent(tier, background=background):
                pass
            while hourly and not await self._spent_hourly():
                pass
            # Calls that queued on the bucket together passed the window check together: only
            # those the window still has room for go now (no await between check and count).
            if self._wait_before(tier, hourly=hourly, background=background) <= 0:
                break
        self._in_flight[tier] += 1
        self._roll_window(tier)
        self._sent_in_window[tier] += 1
        if self._window_ends[tier] - self._clock() <= WINDOW_SLACK:
            # The window's end is known to a second or so: counted in this window and the next.
            self._sent_at_edge[tier] += 1

    async def _spent(self, tier: Tier, *, background: bool) -> bool:
        while self.closed(tier):
            await self._rescaled.wait()
        bucket = self._buckets[tier]
        if bucket is None:
            return True
        if background:
            reserve = 1 + self._reserve(tier)
            while not bucket.has_capacity(reserve) and bucket is self._buckets[tier]:
                await self._sleep(bucket.time_period / bucket.max_rate)
            if bucket is not self._buckets[tier]:
                return False
        await bucket.acquire()
        return bucket is self._buckets[tier]

    async def _spent_hourly(self) -> bool:
        while self.budgets.flat_hourly == 0:
            await self._rescaled.wait()
        bucket = self._hourly
        if bucket is None:
            return True
        await bucket.acquire()
        return bucket is self._hourly

    def closed(self, tier: Tier) -> bool:
        """Whether `tier`'s budget is 0: its calls wait for a rescale that opens it."""
        return self.budgets.per_minute(tier) == 0

    async def rescale(self, budgets: TierBudgets) -> None:
        """Spend `budgets` from now on (a worker's share of the account changed).

        A tier whose budget changed gets a new bucket, as full as the old one was (a closed
        tier's opens full), so a rescale never grants a burst the old budget had not left: the
        workers whose shares just moved cannot together outspend the account in that minute.
        Holds and what the server said stay: they are the account's, whatever this worker's
        share is.
        """
        old, self.budgets = self.budgets, budgets
        for tier in Tier:
            before, after = old.per_minute(tier), budgets.per_minute(tier)
            if before != after:
                self._buckets[tier] = await _refilled(self._buckets[tier], after, 60.0)
        if old.flat_hourly != budgets.flat_hourly:
            self._hourly = await _refilled(self._hourly, budgets.flat_hourly, 3600.0)
        woken, self._rescaled = self._rescaled, asyncio.Event()
        woken.set()

    def release(self, tier: Tier, headers: Mapping[str, str] | None = None) -> None:
        """One call of `tier` came back (with these headers, when it got an answer)."""
        self._in_flight[tier] = max(self._in_flight[tier] - 1, 0)
        if headers is not None:
            self.observe(tier, headers)

    def _wait_before(self, tier: Tier, *, hourly: bool, background: bool) -> float:
        hourly_hold = self.hourly_held_for() if hourly else 0.0
        return max(self.held_for(tier), hourly_hold, self._window_wait(tier, background))

    def hourly_held_for(self) -> float:
        """Seconds the flat hourly cap stays held (0 when free)."""
        return max(self._hourly_held_until - self._clock(), 0.0)

    def hold_hourly(self, seconds: float) -> None:
        """Stop every call the flat hourly cap counts for `seconds` (enrolments still go)."""
        self._hourly_held_until = max(self._hourly_held_until, self._clock() + max(seconds, 0.0))

    def _reserve(self, tier: Tier) -> int:
        rate = self.budgets.per_minute(tier)
        bucket = self._buckets[tier]
        if not rate or bucket is None:
            return 0
        # Never so large that a background call could not fit in the bucket at all.
        room = max(int(bucket.max_rate) - 1, 0)
        return min(int(rate * self._reserve_fraction.get(tier, 0.0)), room)

    def _window_wait(self, tier: Tier, background: bool) -> float:
        """Seconds until the server's window resets, when what it said is left is spoken for,
        or when this limiter's budget for the window is spent."""
        self._roll_window(tier)
        remaining = self._remaining[tier]
        left_in_window = self._window_ends[tier] - self._clock()
        if left_in_window <= 0:
            return 0.0
        reserve = self._reserve(tier) if background else 0
        cap = self._window_cap(tier)
        if cap is not None and self._sent_in_window[tier] + reserve >= cap:
            return left_in_window
        if remaining is None:
            return 0.0
        spoken_for = self._in_flight[tier] + reserve
        return left_in_window if remaining - spoken_for <= 0 else 0.0

    def _window_cap(self, tier: Tier) -> int | None:
        """Calls this limiter may send in one server window: its per-minute budget, whole (so
        shares of an account never add up to more than the account), and at least one."""
        rate = self.budgets.per_minute(tier)
        return None if rate is None else max(int(rate), 1)

    def _roll_window(self, tier: Tier) -> None:
        """Once the server's window has passed, count afresh in the next (windows are minutes)."""
        end = self._window_ends[tier]
        now = self._clock()
        if end <= 0 or now < end:
            return
        windows_on = 1 + (now - end) // WINDOW_SECONDS
        self._turn_window(tier, end + WINDOW_SECONDS * windows_on, next_one=windows_on == 1)

    def _turn_window(self, tier: Tier, ends: float, *, next_one: bool) -> None:
        """Count in the window ending at `ends`; the calls sent at the edge of the one before
        count in it when it is the next one."""
        self._window_ends[tier] = ends
        self._remaining[tier] = None
        self._sent_in_window[tier] = self._sent_at_edge[tier] if next_one else 0
        self._sent_at_edge[tier] = 0

    def has_capacity(self, tier: Tier, *, hourly: bool = True) -> bool:
        """Whether a call on `tier` would go out now without waiting."""
        if self.held_for(tier) > 0 or self.closed(tier):
            return False
        if self._window_wait(tier, background=False) > 0:
            return False
        if hourly and self.budgets.flat_hourly == 0:
            return False
        if hourly and self._hourly is not None and not self._hourly.has_capacity():
            return False
        bucket = self._buckets[tier]
        return bucket is None or bucket.has_capacity()

    def held_for(self, tier: Tier) -> float:
        """Seconds the tier stays held by what the server told us (0 when free)."""
        return max(self._held_until[tier] - self._clock(), 0.0)

    def hold(self, tier: Tier, seconds: float) -> None:
        """Stop spending `tier` for `seconds` (never shortens an existing hold)."""
        self._held_until[tier] = max(self._held_until[tier], self._clock() + max(seconds, 0.0))

    def observe(self, tier: Tier, headers: Mapping[str, str]) -> None:
        """Learn from a response's rate-limit headers: what is left in this window, and when the
        window resets; hold the tier when its budget is spent."""
        remaining = remaining_calls(headers)
        if remaining is None:
            return
        reset = reset_after(headers, now=self._wall_clock())
        if reset is None:
            return
        if is_hourly_scope(headers):
            if remaining <= 0:
                self.hold_hourly(reset)
            return
        self._roll_window(tier)
        ends = self._clock() + reset
        counted = self._window_ends[tier]
        if counted > 0 and abs(ends - (counted + WINDOW_SECONDS)) <= WINDOW_SLACK:
            # The server's next window began before this limiter's count turned (Reset is
            # whole seconds, rounded up): turn it now.
            self._turn_window(tier, ends, next_one=True)
        elif abs(ends - counted) > WINDOW_SLACK:
            # A window this limiter had not counted in (the first answer, or clocks apart).
            # This answer's call was sent in it, and so were those still out.
            self._sent_in_window[tier] = self._in_flight[tier] + 1
            self._sent_at_edge[tier] = 0
        self._remaining[tier] = remaining
        self._window_ends[tier] = ends
        if remaining <= 0:
            self.hold(tier, reset)


def _bucket(per_period: float | None, period: float) -> AsyncLimiter | None:
    """A leaky bucket for `per_period` calls (None when unlimited or closed).

    Below one call per period the bucket holds one call and lets it through every
    `period / per_period` seconds: the same rate, since aiolimiter cannot hold less than a call.
    """
    if not per_period:
        return None
    if per_period < 1:
        return AsyncLimiter(1, period / per_period)
    return AsyncLimiter(per_period, period)


async def _refilled(
    old: AsyncLimiter | None, per_period: float | None, period: float
) -> AsyncLimiter | None:
    """A new bucket for `per_period`, filled to the share of capacity `old` had in use."""
    bucket = _bucket(per_period, period)
    if bucket is None:
        return None
    used = 1.0 if old is None else 1.0 - _room(old) / old.max_rate
    # An empty bucket takes any amount up to its capacity at once, without waiting.
    await bucket.acquire(bucket.max_rate * used)
    return bucket


def _room(bucket: AsyncLimiter) -> float:
    """How many calls `bucket` would let through at once now."""
    room, step = 0.0, bucket.max_rate
    # aiolimiter exposes capacity only as a yes/no; halve down to a tenth of a call.
    while step >= 0.1:
        if bucket.has_capacity(room + step):
            room += step
        step /= 2
    return room
