"""Tier budgets and holds learned from rate-limit headers, on a fake clock that never sleeps."""

from __future__ import annotations

import asyncio

import pytest

from connectors.dotdigital.ratelimit import OPERATION_TIERS, Tier, TierBudgets, TierLimiter
from tests.support.faketime import FakeTime


@pytest.fixture
def time() -> FakeTime:
    return FakeTime(now=500.0)


def limiter(time: FakeTime, budgets: TierBudgets | None = None) -> TierLimiter:
    return TierLimiter(budgets, clock=time.clock, wall_clock=time.wall_clock, sleep=time.sleep)


async def test_spent_tier_is_held_until_reset_seconds(time: FakeTime) -> None:
    tiers = limiter(time)
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"})

    await tiers.acquire(Tier.LOW)
    await tiers.acquire(Tier.LOW)

    assert time.sleeps == [12.0]


async def test_epoch_reset_is_converted_with_the_wall_clock(time: FakeTime) -> None:
    tiers = limiter(time)
    tiers.observe(Tier.MEDIUM, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000045"})

    await tiers.acquire(Tier.MEDIUM)

    assert time.sleeps == [45.0]


async def test_hold_only_affects_its_own_tier(time: FakeTime) -> None:
    tiers = limiter(time)
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"})

    await tiers.acquire(Tier.MEDIUM)
    await tiers.acquire(Tier.HIGH)

    assert time.sleeps == []
    assert not tiers.has_capacity(Tier.LOW)
    assert tiers.held_for(Tier.LOW) == 30.0


async def test_remaining_budget_means_no_hold(time: FakeTime) -> None:
    tiers = limiter(time)
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "30"})
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "0"})  # no reset: nothing to hold for
    tiers.observe(Tier.LOW, {})

    await tiers.acquire(Tier.LOW)

    assert time.sleeps == []


async def test_a_hold_is_never_shortened(time: FakeTime) -> None:
    tiers = limiter(time)
    tiers.hold(Tier.LOW, 40)
    tiers.hold(Tier.LOW, 5)

    await tiers.acquire(Tier.LOW)

    assert time.sleeps == [40.0]


async def test_hold_extended_while_waiting_is_waited_out(time: FakeTime) -> None:
    async def sleep_and_extend(seconds: float) -> None:
        await time.sleep(seconds)
        if len(time.sleeps) == 1:
            tiers.hold(Tier.LOW, 5)  # another response said the window moved on

    tiers = TierLimiter(clock=time.clock, wall_clock=time.wall_clock, sleep=sleep_and_extend)
    tiers.hold(Tier.LOW, 10)

    await tiers.acquire(Tier.LOW)

    assert time.sleeps == [10.0, 5.0]


async def test_per_minute_budget_is_spent_per_tier(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(low=2, medium=5))

    await tiers.acquire(Tier.LOW)
    await tiers.acquire(Tier.LOW)

    assert not tiers.has_capacity(Tier.LOW)
    assert tiers.has_capacity(Tier.MEDIUM)
    assert time.sleeps == []


async def test_unlimited_tier_has_no_client_side_budget(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(unlimited=None))

    for _ in range(1000):
        await tiers.acquire(Tier.UNLIMITED)

    assert tiers.has_capacity(Tier.UNLIMITED)


async def test_flat_hourly_cap_spans_tiers_except_exempt_calls(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(flat_hourly=2))

    await tiers.acquire(Tier.LOW)
    await tiers.acquire(Tier.HIGH)

    assert not tiers.has_capacity(Tier.MEDIUM)
    assert tiers.has_capacity(Tier.MEDIUM, hourly=False)


def test_negative_budgets_are_rejected() -> None:
    with pytest.raises(ValueError, match="low budget"):
        TierBudgets(low=-1)


def test_default_budgets_use_the_published_low_figure() -> None:
    assert TierBudgets().per_minute(Tier.LOW) == 35


@pytest.mark.parametrize(
    ("operation", "tier"),
    [
        ("start_contact_import", Tier.LOW),
        ("start_insight_import", Tier.LOW),
        ("modified_contacts", Tier.LOW),
        ("unsubscribed_since", Tier.LOW),
        ("suppressed_since", Tier.LOW),
        ("upsert_contact", Tier.MEDIUM),
        ("get_contact", Tier.MEDIUM),
        ("put_insight_record", Tier.MEDIUM),
        ("get_insight_record", Tier.MEDIUM),
        ("account_info", Tier.HIGH),
    ],
)
def test_operations_map_to_tiers(operation: str, tier: Tier) -> None:
    assert OPERATION_TIERS[operation] is tier


async def test_calls_in_flight_count_against_what_the_server_said_is_left(time: FakeTime) -> None:
    tiers = limiter(time)
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "40"})

    await tiers.acquire(Tier.LOW)
    await tiers.acquire(Tier.LOW)
    assert time.sleeps == []
    await tiers.acquire(Tier.LOW)  # both answers still out: the window is spoken for

    assert time.sleeps == [40.0]


async def test_an_answer_frees_its_place_in_the_window(time: FakeTime) -> None:
    tiers = limiter(time)
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "40"})

    await tiers.acquire(Tier.LOW)
    tiers.release(Tier.LOW, {"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "39"})
    await tiers.acquire(Tier.LOW)

    assert time.sleeps == []


async def test_background_calls_leave_the_reserve_to_realtime_calls(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(medium=100))
    tiers.observe(Tier.MEDIUM, {"X-RateLimit-Remaining": "20", "X-RateLimit-Reset": "30"})

    await tiers.acquire(Tier.MEDIUM)  # realtime may take the reserve
    await tiers.acquire(Tier.MEDIUM, background=True)  # 19 left, 1 in flight, 20 reserved

    assert time.sleeps == [30.0]


async def test_a_window_that_has_reset_forgets_what_was_left(time: FakeTime) -> None:
    tiers = limiter(time)
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "10"})
    await tiers.acquire(Tier.LOW)
    time.now += 11

    await tiers.acquire(Tier.LOW)

    assert time.sleeps == []


async def test_a_rescaled_tier_spends_its_new_budget(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(low=10))

    await tiers.rescale(TierBudgets(low=2))
    await tiers.acquire(Tier.LOW)
    await tiers.acquire(Tier.LOW)

    assert tiers.budgets.low == 2
    assert not tiers.has_capacity(Tier.LOW)


async def test_a_rescale_grants_no_burst_the_old_budget_had_spent(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(low=10))
    for _ in range(10):
        await tiers.acquire(Tier.LOW)

    await tiers.rescale(TierBudgets(low=4))

    assert not tiers.has_capacity(Tier.LOW)


async def test_a_closed_tier_waits_for_the_rescale_that_opens_it(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(low=0))
    assert tiers.closed(Tier.LOW)
    assert not tiers.has_capacity(Tier.LOW)
    waiting = asyncio.create_task(tiers.acquire(Tier.LOW))

    # Opened without a client-side limit, so the waiting call goes at once.
    await tiers.rescale(TierBudgets(low=None))
    await waiting

    assert not tiers.closed(Tier.LOW)
    assert tiers.has_capacity(Tier.MEDIUM)


async def test_a_tier_that_opens_starts_full_not_with_a_burst(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(low=0))

    await tiers.rescale(TierBudgets(low=5))

    assert not tiers.has_capacity(Tier.LOW)


async def test_holds_learned_from_dotdigital_outlast_a_rescale(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(low=10))
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"})

    await tiers.rescale(TierBudgets(low=3))

    assert tiers.held_for(Tier.LOW) == 30.0


async def test_a_budget_below_one_call_a_minute_lets_one_call_through_at_a_time(
    time: FakeTime,
) -> None:
    tiers = limiter(time, TierBudgets(low=0.5))

    await tiers.acquire(Tier.LOW)

    assert not tiers.has_capacity(Tier.LOW)


async def test_a_closed_flat_cap_stops_every_counted_call(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(flat_hourly=0))

    assert not tiers.has_capacity(Tier.MEDIUM)
    assert tiers.has_capacity(Tier.MEDIUM, hourly=False)


async def test_calls_sent_in_the_servers_window_count_against_a_rescaled_budget(
    time: FakeTime,
) -> None:
    tiers = limiter(time, TierBudgets(low=10))
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "29", "X-RateLimit-Reset": "40"})
    for _ in range(3):
        await tiers.acquire(Tier.LOW)

    await tiers.rescale(TierBudgets(low=4))

    # The bucket would let a call through; the window already has this worker's four.
    assert not tiers.has_capacity(Tier.LOW)
    time.advance(40)
    assert tiers.has_capacity(Tier.LOW)


async def test_a_budget_allows_whole_calls_per_server_window_counting_the_one_answered(
    time: FakeTime,
) -> None:
    tiers = limiter(time, TierBudgets(low=2.5))
    # The answer to a first call: it was sent in this window.
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "30", "X-RateLimit-Reset": "20"})

    await tiers.acquire(Tier.LOW)

    # 2.5 a minute is two calls a window: shares of an account never add up to more than it.
    assert not tiers.has_capacity(Tier.LOW)
    time.advance(20)
    assert tiers.has_capacity(Tier.LOW)


async def test_a_call_past_the_windows_budget_waits_for_the_next_window(
    time: FakeTime,
) -> None:
    tiers = limiter(time, TierBudgets(low=3))
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "30", "X-RateLimit-Reset": "20"})

    # The answered call was this limiter's first in the window: two more fit, the third waits
    # though the server says 30 are left (they are other workers' share).
    await asyncio.gather(*(tiers.acquire(Tier.LOW) for _ in range(3)))

    assert time.sleeps == [20.0]


async def test_a_call_at_the_edge_of_a_window_counts_in_the_next_too(time: FakeTime) -> None:
    tiers = limiter(time, TierBudgets(low=10))
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "30", "X-RateLimit-Reset": "20"})
    time.advance(19.5)  # Reset is whole seconds: the server's window may already have turned
    await tiers.acquire(Tier.LOW)
    time.advance(0.5)
    # Two calls a window now; the bucket alone would let two more through.
    await tiers.rescale(TierBudgets(low=2.9))

    await tiers.acquire(Tier.LOW)

    # The call at the edge and this one are the new window's two.
    assert not tiers.has_capacity(Tier.LOW)


async def test_an_answer_from_the_next_window_turns_the_count_keeping_the_edge_calls(
    time: FakeTime,
) -> None:
    tiers = limiter(time, TierBudgets(low=10))
    tiers.observe(Tier.LOW, {"X-RateLimit-Remaining": "30", "X-RateLimit-Reset": "20"})
    time.advance(19.5)
    await tiers.acquire(Tier.LOW)  # at the edge: the server may count it in the next window
    time.advance(0.2)
    # The server's window already turned: the answer says a whole minute is left.
    tiers.release(Tier.LOW, {"X-RateLimit-Remaining": "29", "X-RateLimit-Reset": "60"})
    await tiers.rescale(TierBudgets(low=2.9))

    await tiers.acquire(Tier.LOW)

    assert not tiers.has_capacity(Tier.LOW)
