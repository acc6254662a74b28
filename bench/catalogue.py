"""`make bench-catalogue`: a 20,000-product catalogue through the sink beside order traffic.

On a real stack (embedded broker, both sandboxes, a worker) at the configured Low budget: the
first full sync (calls per tier, minutes, whether the Low calls stayed within the budget), a
second sync with nothing changed (no import), a delta after 50 product changes (exactly 50
records), and the orders' share: guest orders placed at a steady rate through the store while
the full sync runs, then for as long again with no catalogue, each measured from placing the
order to Dotdigital storing its Orders record (the sandbox's own `created`; one host clock).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from bench.harness import figures, peak_rss_mb, report_header
from sandbox.commerce.simulator.store import Store
from tests.support.catalogue_run import (
    CATALOGUE,
    FIELDS,
    ORDERS,
    Counts,
    catalogue_env,
    counts,
    counts_once,
    grow,
    latencies,
    orders_landed,
    place_orders,
    within_budget,
)
from tests.support.cli import cartwright
from tests.support.stack import Stack, eventually, running_stack, start_cli

FULL, UNCHANGED, DELTA, ORDERS_ONLY = "full_sync", "second_sync", "delta_50", "orders_only"


@dataclass
class Run:
    """What the watcher, the order flow and the display share."""

    phase: str = "starting"
    products: int = 0
    latest: Counts | None = None
    timeline: list[Counts] = field(default_factory=list)
    placed: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> order -> when
    landed: int = 0
    started: float = field(default_factory=time.monotonic)
    flowing: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def table(self) -> Table:
        table = Table(title=f"bench-catalogue: {self.phase}", show_header=False)
        table.add_column("what")
        table.add_column("how many", justify="right")
        now = self.latest
        placed = sum(len(orders) for orders in self.placed.values())
        rows: list[tuple[str, str]] = [
            ("elapsed", f"{time.monotonic() - self.started:,.0f} s"),
            ("products in the store", f"{self.products:,}"),
        ]
        if now is not None:
            rows += [
                (f"{CATALOGUE} records", f"{now.records(CATALOGUE):,}"),
                (f"{ORDERS} records (orders placed)", f"{now.records(ORDERS):,} ({placed:,})"),
                ("Low / Medium calls", f"{now.low():,} / {now.calls.get('medium', 0):,}"),
                (
                    "imports: catalogue / Orders / contacts",
                    f"{now.imported(CATALOGUE)} / {now.imported(ORDERS)} / "
                    f"{now.imported('contacts')}",
                ),
                ("answered 429", f"{now.rate_limited}"),
            ]
        for label, value in rows:
            table.add_row(label, value)
        return table


def watch(stack: Stack, run: Run) -> None:
    """The sandbox's counts once a second."""
    while not run.stop.is_set():
        run.latest = counts(stack)
        run.timeline.append(run.latest)
        run.stop.wait(1.0)  # sampling the sandbox, not waiting for it


def flow(stack: Stack, run: Run, per_second: float) -> None:
    """A guest order every 1/per_second seconds while `run.flowing` is set, noted per phase."""
    while not run.stop.is_set():
        if not run.flowing.wait(0.2):
            continue
        phase = run.phase
        run.placed.setdefault(phase, {}).update(place_orders(stack, 1))
        run.stop.wait(1 / per_second)  # the load's own rate


def landed_all(stack: Stack, placed: dict[str, float], timeout: float) -> dict[str, float]:
    """Every order in `placed` once Dotdigital has its Orders record (or what landed by then)."""
    found: dict[str, float] = {}

    def probe() -> bool:
        found.update(orders_landed(stack))
        return all(key in found for key in placed)

    try:
        eventually(probe, timeout=timeout, what="the orders placed")
    except AssertionError as exc:
        print(f"warning: {exc}", file=sys.stderr)
    return found


def spent(before: Counts, after: Counts, low_per_minute: int) -> dict[str, Any]:
    """Calls and imports between two counts, per minute and against the Low budget."""
    minutes = (after.at - before.at) / 60
    low = after.low() - before.low()
    catalogue = after.imported(CATALOGUE) - before.imported(CATALOGUE)
    orders = after.imported(ORDERS) - before.imported(ORDERS)
    return {
        "minutes": round(minutes, 2),
        "low_calls": low,
        "medium_calls": after.calls.get("medium", 0) - before.calls.get("medium", 0),
        "low_budget_for_the_time": round(low_per_minute * minutes, 1),
        "within_low_budget": within_budget(low, minutes, low_per_minute),
        "answered_429": after.rate_limited - before.rate_limited,
        "catalogue_imports": catalogue,
        "orders_imports": orders,
        "contact_imports": after.imported("contacts") - before.imported("contacts"),
        "orders_import_calls_per_minute": round(orders / minutes, 2) if minutes else None,
        "catalogue_share_of_low_calls": round(catalogue / low, 3) if low else None,
    }


def sync(stack: Stack, logs: Path, *args: str) -> dict[str, int]:
    """`cartwright catalogue sync …` as an operator runs it: the summary's figures by label."""
    code, output = cartwright(
        catalogue_env(stack, logs, **mapping(logs)), "catalogue", "sync", *args
    )
    if code != 0:
        raise RuntimeError(f"catalogue sync failed: {output}")
    return summary(output)


def summary(output: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in output.splitlines():
        matched = re.fullmatch(r"(.*\D) ([\d,]+)", line.strip())
        if matched:
            found[matched.group(1).strip()] = int(matched.group(2).replace(",", ""))
    return found


def mapping(logs: Path) -> dict[str, str]:
    path = logs / "mapping.toml"
    path.write_text(FIELDS, encoding="utf-8")
    return {"CARTWRIGHT_CATALOGUE__MAPPING": str(path)}


def full_sync(stack: Stack, logs: Path, run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """The first full sync with orders flowing: from its start to the last product landing."""
    run.phase = FULL
    before = counts(stack)
    env = catalogue_env(stack, logs, **mapping(logs))
    process = start_cli("catalogue-full", ["catalogue", "sync", "--full"], env, logs)
    stack.processes.append(process)
    run.flowing.set()
    done = eventually(
        counts_once(stack, lambda now: now.records(CATALOGUE) >= run.products),
        timeout=args.timeout,
        what="the whole catalogue",
    )
    run.flowing.clear()
    if process.popen.wait(timeout=120) != 0:
        raise RuntimeError(f"the full sync failed: {process.tail()}")
    return {"products": run.products, **spent(before, done, args.low)}


def orders_only(stack: Stack, run: Run, seconds: float, low: int) -> dict[str, Any]:
    """Orders at the same rate for `seconds`, no catalogue: what they spent."""
    run.phase = ORDERS_ONLY
    before = counts(stack)
    run.flowing.set()
    end = eventually(
        counts_once(stack, lambda now: now.at - before.at >= seconds),
        timeout=seconds + 60,
        what="the orders-only run",
    )
    run.flowing.clear()
    return spent(before, end, low)


def order_figures(
    stack: Stack, placed: dict[str, float], traffic: dict[str, Any]
) -> dict[str, Any]:
    landed = landed_all(stack, placed, timeout=180)
    return {
        "orders_placed": len(placed),
        "orders_landed": sum(1 for key in placed if key in landed),
        "webhook_to_dotdigital": figures(latencies(placed, landed)),
        "orders_import_calls_per_minute": traffic["orders_import_calls_per_minute"],
        "low_calls": traffic["low_calls"],
        "catalogue_share_of_low_calls": traffic["catalogue_share_of_low_calls"],
    }


def measure(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    run = Run()
    settings = {
        "CARTWRIGHT_ORDERS__BATCH_INTERVAL": str(args.batch_interval),
        "CARTWRIGHT_DOTDIGITAL__LOW_PER_MINUTE": str(args.low),
        "CARTWRIGHT_CATALOGUE__LOW_SHARE": str(args.low_share),
        "CARTWRIGHT_LOG_LEVEL": args.log_level,
    }
    with running_stack(logs, **settings) as stack, Live(run.table(), refresh_per_second=2) as live:
        threads = [
            threading.Thread(target=watch, args=(stack, run), daemon=True),
            threading.Thread(target=flow, args=(stack, run, args.order_rate), daemon=True),
        ]
        for thread in threads:
            thread.start()

        def show() -> None:
            while not run.stop.is_set():
                live.update(run.table())
                run.stop.wait(0.5)  # redrawing the display

        display = threading.Thread(target=show, daemon=True)
        display.start()
        try:
            run.phase = "growing the catalogue"
            run.products = grow(stack, args.products)
            first = full_sync(stack, logs, run, args)
            run.phase = UNCHANGED
            before = counts(stack)
            unchanged = sync(stack, logs)
            # The lane takes within ORDERS__BATCH_INTERVAL: anything sent would be imported by then.
            after = eventually(
                counts_once(stack, lambda now: now.at - before.at > 2 * args.batch_interval),
                timeout=120,
                what="a batch interval after the second sync",
            )
            run.phase = DELTA
            changed = reprice(stack, args.changes)
            delta_before = counts(stack)
            delta = sync(stack, logs)
            delta_after = eventually(
                counts_once(
                    stack, lambda now: now.imported(CATALOGUE) > delta_before.imported(CATALOGUE)
                ),
                timeout=120,
                what="the delta's import",
            )
            baseline = orders_only(stack, run, first["minutes"] * 60, args.low)
            during = order_figures(stack, run.placed.get(FULL, {}), first)
            alone = order_figures(stack, run.placed.get(ORDERS_ONLY, {}), baseline)
            rss = peak_rss_mb(stack.processes[1].popen.pid)
        finally:
            run.stop.set()
            for thread in [*threads, display]:
                thread.join(timeout=15)
    return {
        "full_sync": first,
        "second_sync": {
            "records_sent": unchanged.get("records sent to the batch lane"),
            "catalogue_import_calls": after.imported(CATALOGUE) - before.imported(CATALOGUE),
            "low_calls": after.low() - before.low(),
        },
        "delta": {
            "products_changed": changed,
            "records_sent": delta.get("records sent to the batch lane"),
            "catalogue_import_calls": delta_after.imported(CATALOGUE)
            - delta_before.imported(CATALOGUE),
        },
        "orders": {"during_full_sync": during, "orders_only": alone},
        "worker_peak_rss_mb": rss,
    }


def reprice(stack: Stack, count: int) -> int:
    """Raise the price of `count` generated products by one: `count` product changes."""

    def change(store: Store) -> int:
        skus = [sku for sku in store.catalogue.products if sku.startswith("GEN-")][:count]
        for sku in skus:
            store.update_product(sku, price=store.catalogue.products[sku].price + 1)
        return len(skus)

    return stack.commerce.act(change)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=50, help="product changes for the delta")
    parser.add_argument("--low", type=int, default=35, help="Low tier calls per minute")
    parser.add_argument("--low-share", type=float, default=0.5, help="CATALOGUE__LOW_SHARE")
    parser.add_argument("--order-rate", type=float, default=0.5, help="orders placed a second")
    parser.add_argument(
        "--batch-interval", type=float, default=5.0, help="ORDERS__BATCH_INTERVAL, seconds"
    )
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--out", default="bench/results/catalogue.json")
    parser.add_argument("--logs", default=".run/bench-catalogue")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    measured = measure(args, logs)
    report = {
        **report_header("catalogue"),
        "configuration": {
            "products_generated": args.products,
            "product_changes": args.changes,
            "low_calls_per_minute": args.low,
            "catalogue_low_share": args.low_share,
            "orders_per_second": args.order_rate,
            "orders_batch_interval_seconds": args.batch_interval,
            "orders_batch_size": 1000,
        },
        **measured,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    Console().print_json(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
