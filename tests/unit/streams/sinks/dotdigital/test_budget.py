"""A worker's share of the account's Dotdigital budgets: write partitions held, feed reserve."""

from __future__ import annotations

from fractions import Fraction

import pytest

from connectors.dotdigital.ratelimit import Tier, TierBudgets, TierLimiter
from schemas.contract.topics import WRITES, WRITES_REALTIME
from streams.sinks.dotdigital.budget import (
    BudgetShare,
    feed_budgets,
    lane_budgets,
    worker_budgets,
    write_share,
)

TOTALS = {WRITES: 8, WRITES_REALTIME: 8}
ACCOUNT = TierBudgets(low=35, medium=300, high=1000, flat_hourly=2000)


def partitions(topic: str, *numbers: int) -> list[tuple[str, int]]:
    return [(topic, number) for number in numbers]


def test_the_share_counts_only_partitions_of_the_write_topics() -> None:
    assigned = [
        *partitions(WRITES, 0, 1, 2),
        *partitions(WRITES_REALTIME, 5),
        *partitions("commerce.orders.v1", 0, 1, 2, 3),
        ("cartwright-__assignor-__leader", 0),
    ]

    assert write_share(assigned, TOTALS) == Fraction(4, 16)


def test_no_write_topics_no_share() -> None:
    assert write_share(partitions(WRITES, 0), {}) == 0


def test_a_lone_worker_that_leads_spends_the_whole_account() -> None:
    everything = partitions(WRITES, *range(8)) + partitions(WRITES_REALTIME, *range(8))

    budgets = worker_budgets(ACCOUNT, write_share(everything, TOTALS), leader=True, feed_reserve=4)

    assert budgets == ACCOUNT


@pytest.mark.parametrize("leader", [0, 1, 2])
def test_the_shares_of_three_workers_add_up_to_the_account(leader: int) -> None:
    held = [
        partitions(WRITES, 0, 1, 2) + partitions(WRITES_REALTIME, 0, 1, 2),
        partitions(WRITES, 3, 4, 5) + partitions(WRITES_REALTIME, 3, 4, 5),
        partitions(WRITES, 6, 7) + partitions(WRITES_REALTIME, 6, 7),
    ]

    budgets = [
        worker_budgets(ACCOUNT, write_share(mine, TOTALS), leader=i == leader, feed_reserve=4)
        for i, mine in enumerate(held)
    ]

    for tier in (Tier.LOW, Tier.MEDIUM, Tier.HIGH):
        total = sum(b.per_minute(tier) or 0.0 for b in budgets)
        assert total == pytest.approx(ACCOUNT.per_minute(tier))
    assert sum(b.flat_hourly or 0.0 for b in budgets) == pytest.approx(2000)


def test_the_leader_keeps_the_feed_reserve_before_the_rest_is_shared() -> None:
    half = Fraction(1, 2)

    leading = worker_budgets(ACCOUNT, half, leader=True, feed_reserve=4)
    following = worker_budgets(ACCOUNT, half, leader=False, feed_reserve=4)

    assert (leading.low, following.low) == (4 + 31 / 2, 31 / 2)
    assert (leading.medium, following.medium) == (150, 150)
    assert (leading.high, following.high) == (4 + 996 / 2, 996 / 2)
    assert (leading.flat_hourly, following.flat_hourly) == (240 + 1760 / 2, 1760 / 2)


def test_a_leader_without_write_partitions_may_still_poll_the_feeds() -> None:
    budgets = worker_budgets(ACCOUNT, Fraction(0), leader=True, feed_reserve=4)

    assert (budgets.low, budgets.medium, budgets.high) == (4, 0, 4)


def test_a_worker_with_nothing_to_write_that_does_not_lead_spends_nothing() -> None:
    budgets = worker_budgets(ACCOUNT, Fraction(0), leader=False, feed_reserve=4)

    assert (budgets.low, budgets.medium, budgets.high, budgets.flat_hourly) == (0, 0, 0, 0)


def test_the_feed_spends_its_reserve_on_its_tiers_and_nothing_else() -> None:
    budgets = feed_budgets(ACCOUNT, feed_reserve=4)

    assert (budgets.low, budgets.medium, budgets.high, budgets.flat_hourly) == (4, 0, 4, 240)


def test_lanes_share_what_the_feed_reserve_leaves() -> None:
    budgets = lane_budgets(ACCOUNT, Fraction(1, 3), feed_reserve=4)

    assert (budgets.low, budgets.medium, budgets.high) == (31 / 3, 100, 996 / 3)


def test_a_tier_without_a_limit_stays_without_one() -> None:
    budgets = worker_budgets(TierBudgets(), Fraction(1, 3), leader=False, feed_reserve=4)

    assert budgets.unlimited is None
    assert budgets.flat_hourly is None


async def test_an_assignment_rescales_the_workers_limiter_and_is_shown() -> None:
    limiter = TierLimiter(ACCOUNT)
    share = BudgetShare(limiter, ACCOUNT, TOTALS, feed_reserve=4)
    assert share.status() is None

    await share.assigned(partitions(WRITES, 0, 1, 2, 3), leader=False)

    assert limiter.budgets == lane_budgets(ACCOUNT, Fraction(1, 4), feed_reserve=4)
    status = share.status()
    assert status is not None
    assert (status["share"], status["leader"], status["per_minute"]["low"]) == ("1/4", False, 7.75)

    await share.assigned(partitions(WRITES, 0, 1), leader=True)

    # The lanes' limiter spends the lanes' share; the leader's feed has its own reserve.
    assert limiter.budgets == lane_budgets(ACCOUNT, Fraction(1, 8), feed_reserve=4)
    status = share.status()
    assert status is not None
    assert (status["leader"], status["per_minute"]["low"]) == (True, 31 / 8 + 4)
