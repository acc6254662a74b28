"""A worker's share of the account's Dotdigital budgets, recomputed on every rebalance.

N workers each spending the whole account's budgets would spend it N times over. A worker's
lanes spend the share of each tier that it holds of the write partitions (both lanes' topics),
so the shares of all workers in the group add up to the account. The leader's suppression feed
reads (Low; one account-info call, High, as its client starts) have a limiter of their own with
a fixed reserve, taken off before sharing: only the leader polls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from connectors.dotdigital.ratelimit import Tier, TierBudgets, TierLimiter

log = logging.getLogger(__name__)

# The tiers the leader's feed spends; the reserve is kept on each of them.
FEED_TIERS = frozenset({Tier.LOW, Tier.HIGH})


def write_share(assigned: Iterable[tuple[str, int]], totals: Mapping[str, int]) -> Fraction:
    """The share of the write partitions (`totals`: partitions per write topic) in `assigned`."""
    total = sum(totals.values())
    held = {(topic, partition) for topic, partition in assigned if topic in totals}
    return Fraction(len(held), total) if total else Fraction(0)


def _split(
    account: TierBudgets, reserve: float, rule: Callable[[float, float], float]
) -> TierBudgets:
    """`rule(account's figure, reserve on it)` for every tier with a limit; the reserve is kept on
    the feed's tiers, and on the flat hourly cap as sixty minutes' worth."""

    def tier(value: float | None, kept: float) -> float | None:
        return None if value is None else rule(value, kept)

    def on(which: Tier) -> float:
        return reserve if which in FEED_TIERS else 0.0

    return TierBudgets(
        low=tier(account.low, on(Tier.LOW)),
        medium=tier(account.medium, on(Tier.MEDIUM)),
        high=tier(account.high, on(Tier.HIGH)),
        unlimited=tier(account.unlimited, on(Tier.UNLIMITED)),
        flat_hourly=tier(account.flat_hourly, reserve * 60),
    )


def lane_budgets(account: TierBudgets, share: Fraction, *, feed_reserve: float) -> TierBudgets:
    """What the lanes of a worker holding `share` of the write partitions may spend: each tier
    of the account, less the feed's reserve, times `share`. A tier without a limit keeps none."""
    return _split(
        account, feed_reserve, lambda value, kept: float((Fraction(value) - Fraction(kept)) * share)
    )


def feed_budgets(account: TierBudgets, *, feed_reserve: float) -> TierBudgets:
    """What the leader's suppression feeds may spend: the reserve on the feed's tiers, nothing
    on the others (a tier the account does not limit stays unlimited)."""
    return _split(account, feed_reserve, lambda _, kept: kept)


def worker_budgets(
    account: TierBudgets, share: Fraction, *, leader: bool, feed_reserve: float
) -> TierBudgets:
    """All a worker may spend: its lanes' share, and the feed's reserve when it leads."""
    lanes = lane_budgets(account, share, feed_reserve=feed_reserve)
    if not leader:
        return lanes
    feed = feed_budgets(account, feed_reserve=feed_reserve)

    def both(value: float | None, extra: float | None) -> float | None:
        return None if value is None or extra is None else value + extra

    return TierBudgets(
        low=both(lanes.low, feed.low),
        medium=both(lanes.medium, feed.medium),
        high=both(lanes.high, feed.high),
        unlimited=both(lanes.unlimited, feed.unlimited),
        flat_hourly=both(lanes.flat_hourly, feed.flat_hourly),
    )


@dataclass(frozen=True)
class Share:
    """What this worker may spend, and why: shown on the status page."""

    share: Fraction
    leader: bool
    budgets: TierBudgets

    def status(self) -> dict[str, Any]:
        budgets = self.budgets
        return {
            "share": str(self.share),
            "leader": self.leader,
            "per_minute": {
                "low": budgets.low,
                "medium": budgets.medium,
                "high": budgets.high,
                "unlimited": budgets.unlimited,
            },
            "flat_hourly": budgets.flat_hourly,
        }


class BudgetShare:
    """Rescales the lanes' limiter to the worker's share whenever its assignment changes.

    Until its first assignment the lanes keep what a lone worker's would have: they hold no
    write partition yet, so all they call is account-info, as each client starts.
    """

    def __init__(
        self,
        limiter: TierLimiter,
        account: TierBudgets,
        totals: Mapping[str, int],
        *,
        feed_reserve: float,
    ) -> None:
        self._limiter = limiter
        self._account = account
        self._totals = dict(totals)
        self._feed_reserve = feed_reserve
        self.current: Share | None = None

    async def assigned(self, assigned: Iterable[tuple[str, int]], *, leader: bool) -> Share:
        """The worker now holds `assigned` (its whole assignment) and leads or not."""
        share = write_share(assigned, self._totals)
        reserve = self._feed_reserve
        budgets = worker_budgets(self._account, share, leader=leader, feed_reserve=reserve)
        self.current = Share(share, leader, budgets)
        await self._limiter.rescale(lane_budgets(self._account, share, feed_reserve=reserve))
        log.info(
            "Dotdigital budget: %s of the write partitions%s: %s",
            share,
            ", leader" if leader else "",
            self.current.status()["per_minute"],
            extra={"share": str(share), "leader": leader},
        )
        return self.current

    def status(self) -> dict[str, Any] | None:
        return self.current.status() if self.current is not None else None


def register(
    app: Any,
    limiter: TierLimiter,
    account: TierBudgets,
    totals: Mapping[str, int],
    *,
    feed_reserve: float,
) -> BudgetShare:
    """Rescale the lanes' `limiter` after every rebalance of `app` (Faust's
    `on_partitions_assigned`, sent with the worker's whole new assignment)."""
    share = BudgetShare(limiter, account, totals, feed_reserve=feed_reserve)

    async def on_assigned(sender: Any, assigned: Iterable[Any], **_: Any) -> None:
        await share.assigned(((tp.topic, tp.partition) for tp in assigned), leader=app.is_leader())

    app.on_partitions_assigned.connect(on_assigned)
    return share
