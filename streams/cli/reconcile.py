"""`cartwright reconcile`: a window's orders and credit memos in Commerce against Dotdigital,
printed as drift per day and store and findings, each also an exception record."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from connectors.dotdigital.client import DotdigitalClient
from connectors.dotdigital.ratelimit import TierBudgets, TierLimiter
from schemas.contract.topics import DEADLETTER, EXCEPTIONS
from streams.cli.replay import moment
from streams.ops.reconciliation.report import ReconcileReport, describe, publish, reason, reconcile
from streams.runtime.clients import commerce_client
from streams.runtime.incidents import Incidents, readable
from streams.runtime.producer import ProducerTopic, producer
from streams.runtime.retrying import retry_until_settled
from streams.settings import Settings

CLEAN, DRIFT, REFUSED = 0, 1, 2


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "reconcile",
        help="compare a window's orders and credit memos in Commerce with Dotdigital",
        description="Exit status: 0 no drift, 1 drift found (each finding is also an exception "
        "record), 2 nothing compared (the plan exceeds CARTWRIGHT_RECONCILE__MAX_CALLS).",
    )
    parser.add_argument("--since", type=moment, required=True, help="orders placed at or after")
    parser.add_argument("--until", type=moment, default=None, help="… and before (default now)")
    parser.add_argument(
        "--settle",
        type=float,
        default=None,
        help="leave out orders changed this recently, in seconds "
        "(default CARTWRIGHT_RECONCILE__SETTLE)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.settle is not None:
        settings.reconcile.settle = args.settle
    until = args.until or datetime.now(UTC)
    report = asyncio.run(_run(settings, args.since, until))
    show(report, Console())
    if report.refused is not None:
        return REFUSED
    return CLEAN if report.clean else DRIFT


def budgets(settings: Settings) -> TierBudgets:
    """The command's share of the account's Low and Medium tiers: the workers' sink keeps
    spending the rest while it runs."""
    dd, share = settings.dotdigital, settings.reconcile.share
    return TierBudgets(
        low=dd.low_per_minute * share,
        medium=dd.medium_per_minute * share,
        high=dd.high_per_minute * share,
    )


async def _run(settings: Settings, since: datetime, until: datetime) -> ReconcileReport:
    dd = settings.dotdigital
    limiter = TierLimiter(budgets(settings))
    dotdigital = DotdigitalClient(
        dd.base_url, dd.username, dd.password, timeout=dd.timeout, limiter=limiter
    )
    kafka = producer(settings.kafka.bootstrap)
    await kafka.start()
    try:
        async with commerce_client(settings.commerce) as commerce, dotdigital:
            if dd.discover_region:
                await retry_until_settled(dotdigital.discover_region, asyncio.sleep)
            report = await reconcile(settings, commerce, dotdigital, since=since, until=until)
        incidents = Incidents(ProducerTopic(kafka, DEADLETTER), ProducerTopic(kafka, EXCEPTIONS))
        await publish(report, incidents)
        await kafka.flush()
    finally:
        await kafka.stop()
    return report


def show(report: ReconcileReport, console: Console) -> None:
    """Drift per day and store, the findings, and the calls the run made."""
    days = Table(title=f"Revenue drift, orders placed {report.since} to {report.until}")
    for column in ("day", "store", "Commerce", "Dotdigital", "drift", "%", "findings"):
        days.add_column(column, justify="right" if column not in ("day", "store") else "left")
    for day in report.days:
        days.add_row(
            str(day.day),
            day.store,
            f"{day.commerce:.2f}",
            f"{day.dotdigital:.2f}",
            f"{day.drift:+.2f}",
            f"{day.percent:+.2f}",
            str(day.findings),
        )
    console.print(days)
    findings = Table(title=f"{len(report.result.findings)} findings")
    for column in ("reason", "record", "what differs, and the fix"):
        findings.add_column(column)
    for finding in report.result.findings:
        findings.add_row(reason(finding).value, readable(finding.what), readable(describe(finding)))
    if report.result.findings:
        console.print(findings)
    result = report.result
    calls = ", ".join(f"{tier} {n}" for tier, n in sorted(report.calls.items())) or "none"
    console.print(
        f"compared {result.orders} orders, {result.refunds} refunds, {result.contacts} contacts; "
        f"left {result.unsettled} unsettled orders out; "
        f"Dotdigital calls: planned low {report.plan.low}, medium {report.plan.medium}; "
        f"made {calls}; {report.seconds:.1f} s",
        highlight=False,
    )
    if report.unreadable:
        console.print(f"not readable by the pipeline either: {', '.join(report.unreadable)}")
    if report.refused:
        console.print(f"[bold red]nothing compared[/]: {report.refused}")
