"""`cartwright exceptions`: the exception records as a table an operator reads."""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table
from rich.text import Text

from schemas.contract.incidents import Severity
from streams.cli.replay import moment, reason
from streams.ops.exception_book import ExceptionRow, Query, read_exceptions, select
from streams.settings import Settings

_AGO = re.compile(r"^(?P<amount>\d+)(?P<unit>[mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
STATUS_STYLE = {"open": "bold red", "resolved": "green", "info": "dim"}


def since(text: str) -> datetime:
    """`24h`, `30m`, `7d` ago, or an ISO date or date-time."""
    found = _AGO.match(text.strip())
    if found:
        ago = timedelta(**{_UNITS[found["unit"]]: int(found["amount"])})
        return datetime.now(UTC) - ago
    return moment(text)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    exceptions = commands.add_parser(
        "exceptions",
        help="the sync exceptions: subject, reason, impact, how often, resolved or open",
        description="Every exception record, by subject and reason, the latest first. An "
        "exception is resolved once a later write for the same subject was accepted.",
    )
    exceptions.add_argument(
        "--since", type=since, default=None, help="last seen since: 24h, 30m, 7d or ISO"
    )
    exceptions.add_argument("--reason", type=reason, default=None, help="only this reason")
    exceptions.add_argument(
        "--severity", choices=[s.value for s in Severity], default=None, help="only this severity"
    )
    exceptions.add_argument(
        "--subject", default=None, help="subjects containing this (an order number, an email)"
    )
    exceptions.add_argument("--open", action="store_true", help="only what is not resolved")
    exceptions.add_argument("--limit", type=int, default=50, help="at most this many rows")
    exceptions.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    query = Query(
        since=args.since,
        reason=args.reason,
        severity=Severity(args.severity) if args.severity else None,
        subject=args.subject,
        open_only=args.open,
        limit=max(args.limit, 1),
    )
    rows = asyncio.run(read_exceptions(settings.kafka.bootstrap))
    chosen = select(rows, query)
    console = Console(width=max(Console().width, 160))
    console.print(table(chosen, total=len(rows)))
    return 0


def table(rows: Sequence[ExceptionRow], *, total: int) -> Table:
    """The rows as an operator reads them: subject first, then why and what it costs."""
    shown = f"{len(rows)} of {total}" if len(rows) < total else f"{total}"
    grid = Table(title=f"Sync exceptions ({shown})", show_lines=True, expand=True)
    grid.add_column("last seen (UTC)", no_wrap=True)
    grid.add_column("subject")
    grid.add_column("reason")
    grid.add_column("why")
    grid.add_column("campaign impact")
    grid.add_column("times", justify="right")
    grid.add_column("status", no_wrap=True)
    for row in rows:
        status = row.status
        if row.resolved_at is not None:
            status = f"resolved {row.resolved_at:%m-%d %H:%M}"
        grid.add_row(
            f"{row.last_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
            # Text, not markup: subjects and messages come from outside and may hold brackets.
            Text(row.subject),
            f"{row.reason.value}\n({row.severity.value})",
            Text(row.why),
            Text(row.impact),
            str(row.times),
            Text(status, style=STATUS_STYLE[row.status]),
        )
    if not rows:
        grid.add_row("", "no exceptions", "", "", "", "", "")
    return grid
