"""`cartwright catalogue sync [--full]`: send the catalogue's changes to Dotdigital now."""

from __future__ import annotations

import argparse
import asyncio
import sys
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from schemas.catalogue.mapping import MappingRefused
from schemas.catalogue.views import StoreViewsRefused
from streams.runtime import preflight
from streams.runtime.clients import DotdigitalClients, account_budgets
from streams.settings import Settings
from streams.sources.catalogue.sync import CatalogueReport, sync_catalogue
from streams.sources.checkpoint import FileCursors


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    catalogue = commands.add_parser(
        "catalogue", help="the product catalogue in Dotdigital (catalogue insight records)"
    )
    actions = catalogue.add_subparsers(dest="action", required=True)
    sync = actions.add_parser(
        "sync",
        help="send the products Commerce changed since the last sync to the batch lane",
        description="Reads products through Commerce REST (changed since the last sync, or every "
        "product with --full), resolves them with the mapping (CARTWRIGHT_CATALOGUE__MAPPING) "
        "and writes catalogue records through the worker's batch lane.",
    )
    sync.add_argument("--full", action="store_true", help="every product, not only the changes")
    sync.add_argument("--checkpoint", default=None, help="default CARTWRIGHT_CATALOGUE__CHECKPOINT")
    sync.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    preflight.check(settings, "backfill")  # the same calls: Commerce REST and the broker
    console = Console(stderr=True)
    checkpoint = Path(args.checkpoint) if args.checkpoint else None
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
    ) as progress:
        task = progress.add_task("catalogue: reading products", total=None)

        def on_page(report: CatalogueReport) -> None:
            progress.update(
                task,
                description=f"catalogue: {report.products:,} products read, "
                f"{report.records:,} records sent, {report.gaps:,} gaps",
            )

        try:
            cursors = FileCursors(checkpoint or Path(settings.catalogue.checkpoint))
            budgets = account_budgets(settings)
            clients = DotdigitalClients(settings, lanes=budgets, feed=budgets)
            report = asyncio.run(
                sync_catalogue(
                    settings,
                    cursors,
                    full=args.full,
                    dotdigital=partial(clients, background=True),
                    on_page=on_page,
                )
            )
        except MappingRefused as refused:
            what = "store views" if isinstance(refused, StoreViewsRefused) else "mapping"
            print(f"cartwright catalogue sync: the {what} cannot be used:", file=sys.stderr)
            for problem in refused.problems:
                print(f"  - {problem}", file=sys.stderr)
            return 2
    Console().print(summary(report))
    return 0


def summary(report: CatalogueReport) -> Table:
    table = Table(title="Catalogue sync", show_header=False)
    table.add_column("what")
    table.add_column("how many", justify="right")
    for label, value in (
        ("products read", report.products),
        ("products their save events marked stale", report.stale),
        ("records sent to the batch lane", report.records),
        ("mapped attributes left empty (exceptions)", report.gaps),
        ("values too long for Dotdigital, left out (exceptions)", report.too_long),
        ("products that could not be read (exceptions)", report.unreadable),
        ("records of products gone from Commerce, marked deleted", report.deleted),
        ("records of products moved off a store view's website, marked deleted", report.left),
        ("pages", report.pages),
        ("Commerce calls", report.commerce_calls),
    ):
        table.add_row(label, f"{value:,}")
    return table
