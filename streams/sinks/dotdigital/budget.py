"""A worker's share of the account's Dotdigital budgets, recomputed on every rebalance.

Every worker has one limiter; N workers each spending the whole account's budgets would spend
it N times over. A worker spends the share of each tier that it holds of the write partitions
(both lanes' topics), so the shares of all workers in the group add up to the account. The
leader's suppression feed reads (Low; one account-info call, High, when its client starts) are
served from a fixed reserve taken off before sharing, which only the leader holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
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


def worker_budgets(
    account: TierBudgets, share: Fraction, *, leader: bool, feed_reserve: float
) -> TierBudgets:
    """The budgets of a worker holding `share` of the write partitions.

    Each tier is the account's, less the feed reserve on the feed's tiers, times `share`, plus
    the reserve when the worker leads. The flat hourly cap is split the same way (the reserve is
    a minute's, so sixty of them an hour). A tier without a limit stays without one.
    """

    def split(value: float | None, reserve: float) -> float | None:
        if value is None:
            return None
        return float((Fraction(value) - Fraction(reserve)) * share) + (reserve if leader else 0.0)

    def tier(which: Tier) -> float | None:
        return split(account.per_minute(which), feed_reserve if which in FEED_TIERS else 0.0)

    return TierBudgets(
        low=tier(Tier.LOW),
        medium=tier(Tier.MEDIUM),
        high=tier(Tier.HIGH),
        unlimited=tier(Tier.UNLIMITED),
        flat_hourly=split(account.flat_hourly, feed_reserve * 60),
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
    """Rescales the worker's limiter to its share whenever its assignment changes.

    Until its first assignment a worker keeps the account's budgets: it holds no write partition
    and does not lead, so all it may call is account-info, as each client starts.
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
        budgets = worker_budgets(
            self._account, share, leader=leader, feed_reserve=self._feed_reserve
        )
        self.current = Share(share, leader, budgets)
        await self._limiter.rescale(budgets)
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
    """Rescale `limiter` after every rebalance of `app` (Faust's `on_partitions_assigned`)."""
    share = BudgetShare(limiter, account, totals, feed_reserve=feed_reserve)

    async def on_assigned(sender: Any, assigned: Iterable[Any], **_: Any) -> None:
        await share.assigned(((tp.topic, tp.partition) for tp in assigned), leader=app.is_leader())

    app.on_partitions_assigned.connect(on_assigned)
    return share
