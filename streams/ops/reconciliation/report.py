"""Reconciliation: Commerce's orders and credit memos against Dotdigital's Orders and Refunds."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from connectors.commerce.client import CommerceClient
from connectors.dotdigital.client import DotdigitalClient
from schemas.contract.incidents import Reason
from schemas.rules.drift import DayRevenue, Reconciliation, Window, compare
from schemas.rules.reconciliation import Entity, Finding, Kind, expected
from streams.ops.reconciliation.reads import (
    FEED_PAGE,
    CallPlan,
    calls_by_tier,
    plan,
    read_commerce,
    read_dotdigital,
    read_feed,
    unsettled,
)
from streams.runtime.incidents import Incidents
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftDay:
    """One day and store of revenue on both sides: `drift` = Dotdigital minus Commerce (net of
    refunds), `findings` how many records disagree."""

    day: date
    store: str
    commerce: Decimal
    dotdigital: Decimal
    drift: Decimal
    percent: float
    findings: int

    @classmethod
    def of(cls, revenue: DayRevenue) -> DriftDay:
        return cls(
            day=revenue.day,
            store=revenue.store,
            commerce=revenue.commerce,
            dotdigital=revenue.dotdigital,
            drift=revenue.drift,
            percent=revenue.percent,
            findings=revenue.findings,
        )


@dataclass
class ReconcileReport:
    """One run: its window, findings, drift per day and store, and the Dotdigital calls it
    planned and made (per tier). `refused` says why nothing was compared, when so."""

    since: datetime
    until: datetime
    result: Reconciliation = field(default_factory=Reconciliation)
    plan: CallPlan = field(default_factory=lambda: CallPlan(0, 0))
    calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    refused: str | None = None
    unreadable: list[str] = field(default_factory=list)

    @property
    def days(self) -> list[DriftDay]:
        return [DriftDay.of(day) for day in self.result.days]

    @property
    def clean(self) -> bool:
        return self.refused is None and not self.result.findings


REASONS = {
    Kind.MISSING: Reason.DRIFT_MISSING,
    Kind.EXTRA: Reason.DRIFT_EXTRA,
    Kind.MISMATCH: Reason.DRIFT_MISMATCH,
}
_WHERE = {Entity.ORDER: "Orders", Entity.REFUND: "Refunds", Entity.CONTACT: "contacts"}


def reason(finding: Finding) -> Reason:
    return Reason.DRIFT_CONTACT if finding.entity is Entity.CONTACT else REASONS[finding.kind]


def fix(finding: Finding) -> str:
    """What an operator does about it, as a command where there is one."""
    if finding.entity is Entity.CONTACT:
        return (
            "replay the contact's orders: cartwright replay --email <the record's email> "
            "(the join restates the data fields from every order)"
        )
    if finding.kind is Kind.EXTRA and finding.order_entity_id is None:
        return (
            f"Commerce has no order {finding.order}: delete the record from Dotdigital's "
            f"{_WHERE[finding.entity]} collection, or find where it came from"
        )
    return f"replay order {finding.order}: cartwright replay --id {finding.order}"


def describe(finding: Finding) -> str:
    """The finding in words: the record, what differs, and the fix."""
    where = _WHERE[finding.entity]
    placed = f", placed {finding.day} in {finding.store}" if finding.day else ""
    if finding.kind is Kind.MISSING:
        values = _values(finding, expected=True)
        head = f"{finding.what} ({values}{placed}) is in Commerce, not in Dotdigital's {where}"
    elif finding.kind is Kind.EXTRA:
        values = _values(finding, expected=False)
        head = f"{finding.what} ({values}{placed}) is in Dotdigital's {where}, not in Commerce"
    else:
        shown = ", ".join(
            f"{d.name} {_value(d.expected)} in Commerce but {_value(d.found)} in Dotdigital"
            for d in finding.differences
        )
        head = f"{finding.what}{placed}: {shown}"
    return f"{head}. Fix: {fix(finding)}"


def _values(finding: Finding, *, expected: bool) -> str:
    return ", ".join(
        f"{d.name} {_value(d.expected if expected else d.found)}" for d in finding.differences
    )


def _value(value: Any) -> str:
    return "none" if value is None else str(value)


def _claims_an_order(fields: Mapping[str, Any], name: str, since: datetime) -> bool:
    """Whether a contact's `LAST_ORDER_DATE` falls at or after `since`: it may hold a record
    of the window Commerce does not know."""
    value = fields.get(name)
    if not isinstance(value, str):
        return False
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    # Dotdigital may answer a date field without its zone: its dates are UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) >= since


async def reconcile(
    settings: Settings,
    commerce: CommerceClient,
    dotdigital: DotdigitalClient,
    *,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
) -> ReconcileReport:
    """Compare the orders placed in [since, until) and everything that hangs on them."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    report = ReconcileReport(since, until)
    names = settings.dotdigital.data_fields
    store = await read_commerce(commerce, since, until, settings.commerce.page_size)
    wanted = expected(store.orders, store.creditmemos, names=names)
    report.unreadable = wanted.unreadable
    window = Window(since, until)
    quiet = unsettled(store, now - timedelta(seconds=settings.reconcile.settle))
    buyers = {
        wanted.emails[key]
        for key, document in wanted.orders.items()
        if window.holds(document, "purchaseDate")
    }
    feed = await read_feed(dotdigital, since, settings.reconcile.max_calls)
    last_order = names.get("LAST_ORDER_DATE", "LAST_ORDER_DATE")
    claimants = {e for e, f in feed.items() if _claims_an_order(f, last_order, since)}
    people = buyers | claimants
    report.plan = plan(max(1, -(-len(feed) // FEED_PAGE)), people, feed)
    if report.plan.total > settings.reconcile.max_calls:
        report.refused = (
            f"the run would make {report.plan.total} Dotdigital calls, more than "
            f"CARTWRIGHT_RECONCILE__MAX_CALLS ({settings.reconcile.max_calls}): reconcile a "
            f"shorter window"
        )
    else:
        found = await read_dotdigital(
            dotdigital,
            people,
            feed,
            orders_collection=settings.orders.collection,
            refunds_collection=settings.orders.refunds_collection,
        )
        report.result = compare(
            wanted,
            window,
            orders=found.orders,
            refunds=found.refunds,
            contacts=found.contacts,
            unsettled=quiet,
        )
    report.calls = calls_by_tier(dotdigital)
    report.seconds = time.monotonic() - started
    return report


async def publish(report: ReconcileReport, incidents: Incidents) -> None:
    """One exception record per finding on `cartwright.exceptions.v1`."""
    for finding in report.result.findings:
        await incidents.report(
            reason=reason(finding),
            message=describe(finding),
            subject=finding.what,
            email=finding.email,
        )
    log.info(
        "reconciliation %s to %s: %d findings, %d Dotdigital calls",
        report.since.isoformat(),
        report.until.isoformat(),
        len(report.result.findings),
        sum(report.calls.values()),
        extra={"findings": len(report.result.findings), "calls": report.calls},
    )
