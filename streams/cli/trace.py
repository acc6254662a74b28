"""`cartwright trace`: has an order or a contact reached Dotdigital, and if not, where it stopped."""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from streams.ops.trace import OK, STOPPED, Trace
from streams.ops.trace_reader import DOTDIGITAL_WAIT, TraceReader
from streams.runtime.clients import DotdigitalClients, account_budgets, commerce_client
from streams.settings import Settings

OUTCOME_STYLE = {OK: "green", STOPPED: "bold red"}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    trace = commands.add_parser(
        "trace",
        help="every step an order or a contact took, to what Dotdigital holds now",
        description="Has it reached Dotdigital, and if not, where did it stop and why: Commerce's "
        "record, the deliveries, normalize, the join's writes, Dotdigital's answers, the "
        "exceptions, and what Dotdigital holds now.",
    )
    what = trace.add_subparsers(dest="what", required=True)
    order = what.add_parser("order", help="an order, by its increment id (e.g. 000000123)")
    order.add_argument("number")
    contact = what.add_parser("contact", help="a contact, by email")
    contact.add_argument("email")
    trace.set_defaults(handler=run)


async def traced(settings: Settings, what: str, ident: str) -> Trace:
    """The trace, asking Commerce and Dotdigital through the configured clients; a Dotdigital
    that does not answer (an outage) is said so in the trace instead of waited for."""
    budgets = account_budgets(settings)
    clients = DotdigitalClients(settings, lanes=budgets, feed=budgets)
    try:
        dotdigital = await asyncio.wait_for(clients(background=False), DOTDIGITAL_WAIT)
    except TimeoutError:
        dotdigital = None
    async with commerce_client(settings.commerce) as commerce:
        reader = TraceReader(
            settings.kafka.bootstrap, settings.kafka.partitions, commerce, dotdigital
        )
        try:
            if what == "order":
                return await reader.order(ident)
            return await reader.contact(ident)
        finally:
            if dotdigital is not None:
                await dotdigital.aclose()


def run(args: argparse.Namespace, settings: Settings) -> int:
    ident = args.number if args.what == "order" else args.email
    found = asyncio.run(traced(settings, args.what, ident))
    console = Console(width=max(Console().width, 140))
    console.print(rendered(found))
    return 0 if found.reached else 1


def rendered(found: Trace) -> Panel:
    """One screen: the verdict, the steps, and what Dotdigital holds now."""
    steps = Table(show_lines=False, expand=True)
    steps.add_column("when (UTC)", no_wrap=True)
    steps.add_column("stage", no_wrap=True)
    steps.add_column("outcome", no_wrap=True)
    steps.add_column("what")
    for step in found.steps:
        when = f"{step.at:%Y-%m-%d %H:%M:%S}" if step.at else "now"
        outcome = Text(step.outcome, style=OUTCOME_STYLE.get(step.outcome, "yellow"))
        # Text, not markup: details quote records from outside.
        steps.add_row(when, step.stage, outcome, Text(step.detail))
    holds = Table(title="Dotdigital now", show_header=False, expand=True)
    holds.add_column("what", no_wrap=True)
    holds.add_column("value")
    for label, value in found.dotdigital:
        holds.add_row(label, Text(value))
    verdict = Text(found.verdict, style="bold green" if found.reached else "bold red")
    return Panel(Group(verdict, steps, holds), title=Text(f"trace: {found.subject}"))
