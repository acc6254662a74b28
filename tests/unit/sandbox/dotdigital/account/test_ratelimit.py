"""Per-tier minute windows and the flat hourly cap, against an injected clock."""

from __future__ import annotations

import pytest

from sandbox.dotdigital.account.config import RateMode, ResetFormat
from sandbox.dotdigital.account.ratelimit import RateLimiter, Tier
from tests.support.dotdigital import START
from tests.support.faketime import FakeTime

BUDGETS: dict[str, int | None] = {"low": 2, "medium": 5, "high": 10, "unlimited": None}


def limiter(
    clock: FakeTime,
    mode: RateMode = "tiered",
    reset_format: ResetFormat = "seconds",
    hourly_limit: int = 3,
) -> RateLimiter:
    return RateLimiter(
        clock.wall_clock,
        budgets=BUDGETS,
        mode=mode,
        reset_format=reset_format,
        hourly_limit=hourly_limit,
    )


def test_tier_budget_counts_down_then_refuses_with_headers() -> None:
    clock = FakeTime(wall=START + 15)
    limits = limiter(clock)
    first = limits.charge(Tier.LOW)
    second = limits.charge(Tier.LOW)
    third = limits.charge(Tier.LOW)
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert first.headers == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "1",
        "X-RateLimit-Reset": "45",
        "X-RateLimit-Scope": "low",
    }
    assert third.headers["X-RateLimit-Remaining"] == "0"
    assert limits.stats.rate_limited == 1


def test_tiers_have_separate_budgets() -> None:
    limits = limiter(FakeTime(wall=START))
    for _ in range(2):
        limits.charge(Tier.LOW)
    assert not limits.charge(Tier.LOW).allowed
    assert limits.charge(Tier.MEDIUM).allowed


def test_a_new_minute_restores_the_budget() -> None:
    clock = FakeTime(wall=START)
    limits = limiter(clock)
    for _ in range(2):
        limits.charge(Tier.LOW)
    clock.advance(59.9)
    assert not limits.charge(Tier.LOW).allowed
    clock.advance(0.1)
    assert limits.charge(Tier.LOW).allowed


def test_reset_can_be_an_epoch_timestamp() -> None:
    clock = FakeTime(wall=START + 15)
    verdict = limiter(clock, reset_format="epoch").charge(Tier.HIGH)
    assert verdict.headers["X-RateLimit-Reset"] == str(int(START + 60))


def test_unlimited_tier_is_never_refused_and_has_no_headers() -> None:
    limits = limiter(FakeTime(wall=START))
    verdicts = [limits.charge(Tier.UNLIMITED) for _ in range(50)]
    assert all(v.allowed and v.headers == {} for v in verdicts)


def test_flat_mode_caps_calls_per_rolling_hour() -> None:
    clock = FakeTime(wall=START)
    limits = limiter(clock, mode="flat", hourly_limit=3)
    for _ in range(3):
        assert limits.charge(Tier.LOW).allowed
        clock.advance(10)
    capped = limits.charge(Tier.HIGH)
    assert not capped.allowed
    assert capped.hourly_cap
    assert capped.headers["X-RateLimit-Scope"] == "hourly"
    assert capped.headers["X-RateLimit-Remaining"] == "0"
    clock.advance(3600 - 30 + 1)
    assert limits.charge(Tier.LOW).allowed


def test_flat_mode_does_not_count_exempt_calls() -> None:
    limits = limiter(FakeTime(wall=START), mode="flat", hourly_limit=1)
    assert all(limits.charge(Tier.MEDIUM, hourly=False).allowed for _ in range(5))
    assert limits.charge(Tier.MEDIUM).allowed
    assert not limits.charge(Tier.MEDIUM).allowed


def test_calls_in_last_hour_forget_old_calls() -> None:
    clock = FakeTime(wall=START)
    limits = limiter(clock)
    limits.charge(Tier.HIGH)
    clock.advance(1800)
    limits.charge(Tier.HIGH)
    assert limits.calls_in_last_hour() == 2
    clock.advance(1801)
    assert limits.calls_in_last_hour() == 1


@pytest.mark.parametrize("mode", ["tiered", "flat"])
def test_reconfiguring_starts_counting_afresh(mode: RateMode) -> None:
    limits = limiter(FakeTime(wall=START))
    for _ in range(3):
        limits.charge(Tier.LOW)
    limits.configure(mode=mode, budgets={"low": 1})
    assert limits.charge(Tier.LOW).allowed
    assert limits.budgets["low"] == 1
    assert limits.mode == mode
