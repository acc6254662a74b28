"""`make bench-pipeline`: order envelopes from the raw topic to Dotdigital write commands.

For each worker count (`--workers 1,2,3`), on a fresh embedded broker: first the baseline, a
plain aiokafka consume → produce passthrough (bench/passthrough.py, a process of its own) moving
the order envelopes from one topic to another; then `cartwright worker` processes on one group,
the same envelopes put on `commerce.raw.v1` exactly as the webhook's RawPublisher puts them
there (bench/envelopes.py), timed from the first raw record to the moment the normalize and
join agents have produced an `Orders` write command for every order on `dotdigital.writes.v1`.
Last, one more single-worker run with py-spy sampling the worker, summarised by function, by
what the time went to and by agent (bench/hotspots.py). The sink runs against the Dotdigital
sandbox with a Low budget of `--low` calls a minute, so the batch lane stays out of the way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console
from rich.live import Live
from rich.table import Table

from bench.envelopes import (
    DELIVERY_EVENTS,
    LINGER_MS,
    Item,
    Tally,
    deliveries,
    event_id,
    normalized_order,
    order_events,
    orders_command,
    records_by_topic,
    send_and_watch,
)
from bench.harness import cpu_seconds, free_port, peak_rss_mb, report_header, wait_for
from bench.hotspots import summarise
from sandbox.broker import EmbeddedBroker
from schemas.contract.topics import ORDERS, RAW, WRITES
from streams.runtime.topics import create_topics
from streams.sources.deliveries import Delivery
from tests.support.stack import Process, base_env, eventually, start_cli, worker_url

# Six divide evenly over one, two and three workers (Faust gives each ceil(partitions/workers)).
PARTITIONS = 6
PASS_IN, PASS_OUT = "bench.passthrough.in.v1", "bench.passthrough.out.v1"
TARGET_RATIO = 0.25
IDLE_SECONDS = 5.0  # the workers' and broker's CPU with nothing to do, before the envelopes


# --- what the run shows while it goes ---


@dataclass
class Run:
    orders: int
    phase: str = "preparing"
    sent: int = 0
    tallies: dict[str, Tally] = field(default_factory=dict)
    phase_started: float = field(default_factory=time.monotonic)
    done: list[tuple[str, str]] = field(default_factory=list)

    def enter(self, phase: str) -> None:
        self.phase, self.sent, self.tallies = phase, 0, {}
        self.phase_started = time.monotonic()

    def count(self) -> None:
        self.sent += 1

    def table(self) -> Table:
        table = Table(title=f"bench-pipeline: {self.phase}", show_header=False)
        table.add_column("what")
        table.add_column("how many", justify="right")
        table.add_row("elapsed in this phase", f"{time.monotonic() - self.phase_started:,.1f} s")
        table.add_row("envelopes sent", f"{self.sent:,} / {self.orders:,}")
        for topic, tally in list(self.tallies.items()):
            table.add_row(f"{topic}: records / distinct", f"{tally.records:,} / {tally.seen():,}")
        for label, value in self.done:
            table.add_row(label, value)
        return table


# --- processes ---


@contextmanager
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    try:
        yield started
    finally:
        for process in reversed(started):
            process.stop()


def raw_partitions(url: str) -> set[str]:
    try:
        assigned = httpx.get(f"{url}/ops/status", timeout=2).json().get("assigned", [])
    except (httpx.HTTPError, ValueError):
        return set()
    return {name for name in assigned if name.startswith(f"{RAW}[")}


def holds_partitions(url: str) -> Callable[[], set[str]]:
    return lambda: raw_partitions(url)


def settled(urls: list[str]) -> Callable[[], bool]:
    """True once every worker holds raw partitions, none twice, all of them, three polls running."""
    streak = [0]

    def check() -> bool:
        held = [raw_partitions(url) for url in urls]
        whole = all(held) and sum(map(len, held)) == len(set().union(*held)) == PARTITIONS
        streak[0] = streak[0] + 1 if whole else 0
        return streak[0] >= 3

    return check


def start_workers(
    count: int, env: dict[str, str], logs: Path, started: list[Process]
) -> list[Process]:
    workers, urls = [], []
    for number in range(1, count + 1):
        port = free_port()
        worker = start_cli(
            f"worker-{number}", ["worker"], {**env, "CARTWRIGHT_WEB__PORT": str(port)}, logs
        )
        started.append(worker)
        workers.append(worker)
        urls.append(worker_url(port))
        eventually(holds_partitions(urls[-1]), timeout=120, what=f"worker {number}")
    eventually(settled(urls), timeout=120, what="the group's assignment")
    return workers


def cores(
    before: dict[str, float | None], after: dict[str, float | None], seconds: float
) -> dict[str, float | None]:
    """CPU cores each process used between two readings of its CPU time."""
    used: dict[str, float | None] = {}
    for name, start in before.items():
        end = after.get(name)
        used[name] = (
            round((end - start) / seconds, 2) if start is not None and end is not None else None
        )
    return used


def idle(pids: dict[str, int | None]) -> dict[str, float | None]:
    """CPU cores each process uses with nothing to do, over IDLE_SECONDS."""
    before, started = cpu_times(pids), time.monotonic()
    time.sleep(IDLE_SECONDS)  # measuring what idling costs, not waiting for anything
    return cores(before, cpu_times(pids), time.monotonic() - started)


def cpu_times(pids: dict[str, int | None]) -> dict[str, float | None]:
    return {name: cpu_seconds(pid) if pid else None for name, pid in pids.items()}


async def create_passthrough_topics(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in (PASS_IN, PASS_OUT)])
    finally:
        await admin.close()


# --- the measurements ---


def baseline(
    bootstrap: str,
    broker_pid: int | None,
    read: list[Delivery],
    run: Run,
    logs: Path,
    timeout: float,
) -> dict[str, Any]:
    """The passthrough moving every envelope from PASS_IN to PASS_OUT."""
    run.enter("baseline: aiokafka passthrough")
    orders = sum(len(delivery.events) for delivery in read)
    command = [
        sys.executable, "-m", "bench.passthrough", "--bootstrap", bootstrap, "--source", PASS_IN,
        "--target", PASS_OUT, "--count", str(orders), "--partitions", str(PARTITIONS),
        "--timeout", str(timeout),
    ]  # fmt: skip
    with (logs / "passthrough.log").open("wb") as errors:
        popen = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)  # noqa: S603
        try:
            assert popen.stdout is not None
            if not orjson.loads(popen.stdout.readline() or b"{}").get("ready"):
                raise RuntimeError(f"the passthrough did not start: see {logs / 'passthrough.log'}")
            pids = {"passthrough": popen.pid, "broker": broker_pid, "bench": os.getpid()}
            before = cpu_times(pids)
            run.tallies = {PASS_OUT: Tally()}

            moving = send_and_watch(
                bootstrap,
                PASS_IN,
                read,
                run.tallies,
                run.count,
                {PASS_OUT: event_id},
                PASS_OUT,
                timeout,
            )
            sent = asyncio.run(moving)
            after, ended = cpu_times(pids), time.time()
            finished = orjson.loads(popen.stdout.readline() or b"{}")
            popen.wait(timeout=30)
        finally:
            if popen.poll() is None:
                popen.kill()
                popen.wait()
    tally = run.tallies[PASS_OUT]
    moved_by = tally.all_by()
    if tally.seen() < orders or moved_by is None:
        raise RuntimeError(f"the passthrough moved {tally.seen()} of {orders}")
    seconds = moved_by - sent["started"]
    return {
        "envelopes": orders,
        "seconds": round(seconds, 3),
        "events_per_second": round(orders / seconds),
        "batches": finished.get("batches"),
        "peak_rss_mb": finished.get("peak_rss_mb"),
        "cpu_cores": cores(before, after, ended - sent["started"]),
    }


def pipeline(
    bootstrap: str,
    pids: dict[str, int | None],
    read: list[Delivery],
    run: Run,
    timeout: float,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Every envelope onto the raw topic; seconds until the normalized orders and their write
    commands are all on the broker."""
    orders = sum(len(delivery.events) for delivery in read)
    run.tallies = {ORDERS: Tally(), WRITES: Tally()}
    spy = None
    if profile is not None:
        # py-spy beside this interpreter (the dev extra installs it), on the first worker's pid;
        # it writes its file when interrupted.
        spy = subprocess.Popen(  # noqa: S603
            [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pids["worker-1"]),
             "--format", "raw", "--rate", "100", "--nonblocking", "--output", str(profile)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
    before = cpu_times(pids)

    items: dict[str, Item] = {ORDERS: normalized_order, WRITES: orders_command}
    try:
        sent = asyncio.run(
            send_and_watch(bootstrap, RAW, read, run.tallies, run.count, items, WRITES, timeout)
        )
        after, ended = cpu_times(pids), time.time()
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
    normalized, commands = run.tallies[ORDERS], run.tallies[WRITES]
    done = commands.all_by()
    if commands.seen() < orders or done is None:
        raise RuntimeError(
            f"write commands for {commands.seen()} of {orders} orders in {timeout} s"
        )
    seconds = done - sent["started"]
    normalized_by = normalized.all_by() or done
    return {
        "orders": orders,
        "seconds": round(seconds, 3),
        "events_per_second": round(orders / seconds),
        "stages": {
            "raw_acknowledged_seconds": round(sent["acknowledged"] - sent["started"], 3),
            "normalized_seconds": round(normalized_by - sent["started"], 3),
            "normalize_events_per_second": round(orders / (normalized_by - sent["started"])),
            "first_command_seconds": round(min(commands.first.values()) - sent["started"], 3),
            "commands_seconds": round(seconds, 3),
        },
        "write_commands": commands.records,
        "normalized_records": normalized.records,
        "cpu_cores": cores(before, after, ended - sent["started"]),
        "worker_cpu_ms_per_order": cpu_ms_per_order(before, after, orders),
        # Of the machine's cores, how many the workers, broker, sandbox and bench kept busy.
        "cpu_cores_busy_in_all": round(
            sum(used or 0 for used in cores(before, after, ended - sent["started"]).values()), 2
        ),
    }


def cpu_ms_per_order(
    before: dict[str, float | None], after: dict[str, float | None], orders: int
) -> float:
    """The workers' CPU time (all of them, over the whole measurement) per order, in ms."""
    spent = sum(
        (after.get(name) or 0.0) - (start or 0.0)
        for name, start in before.items()
        if name.startswith("worker")
    )
    return round(1000 * spent / orders, 2)


def on_fresh_broker(
    workers: int,
    read: list[Delivery],
    args: argparse.Namespace,
    run: Run,
    logs: Path,
    *,
    profiled: bool = False,
) -> dict[str, Any]:
    """The baseline (unless `profiled`), then `workers` workers' pipeline, on one new broker."""
    logs.mkdir(parents=True, exist_ok=True)
    measured: dict[str, Any] = {"workers": workers}
    with EmbeddedBroker(port=free_port()) as broker, processes() as started:
        asyncio.run(create_topics(broker.bootstrap, PARTITIONS))
        asyncio.run(create_passthrough_topics(broker.bootstrap))
        if not profiled:
            measured["passthrough"] = baseline(
                broker.bootstrap, broker.pid, read, run, logs, args.timeout
            )
            rate = measured["passthrough"]["events_per_second"]
            run.done.append((f"{workers} worker(s) broker: passthrough ev/s", f"{rate:,}"))
        run.enter(f"{workers} worker(s): starting")
        dd_port = free_port()
        dotdigital = f"http://127.0.0.1:{dd_port}"
        env = base_env(
            CARTWRIGHT_KAFKA__BOOTSTRAP=broker.bootstrap,
            CARTWRIGHT_KAFKA__PARTITIONS=str(PARTITIONS),
            CARTWRIGHT_DOTDIGITAL__BASE_URL=dotdigital,
            CARTWRIGHT_DOTDIGITAL__LOW_PER_MINUTE=str(args.low),
            # Nothing on this path calls Commerce; the catalogue's schedule would.
            CARTWRIGHT_COMMERCE__BASE_URL=f"http://127.0.0.1:{free_port()}",
            CARTWRIGHT_CATALOGUE__INTERVAL="0",
            CARTWRIGHT_LOG_LEVEL=args.log_level,
        )
        sandbox = start_cli(
            "dotdigital", ["sandbox", "dotdigital", "--port", str(dd_port)], env, logs
        )
        started.append(sandbox)
        wait_for(lambda: httpx.get(f"{dotdigital}/_sandbox/stats").status_code == 200, "sandbox")
        pool = start_workers(workers, env, logs, started)
        pids: dict[str, int | None] = {w.name: w.popen.pid for w in pool}
        pids.update(
            {"broker": broker.pid, "dotdigital sandbox": sandbox.popen.pid, "bench": os.getpid()}
        )
        run.enter(f"{workers} worker(s): idle for {IDLE_SECONDS:.0f} s")
        measured["idle_cpu_cores"] = idle(pids)
        run.enter(f"{workers} worker(s): pipeline" + (", py-spy sampling" if profiled else ""))
        profile = logs / "worker-1.pyspy.txt" if profiled else None
        measured["pipeline"] = pipeline(broker.bootstrap, pids, read, run, args.timeout, profile)
        measured["worker_peak_rss_mb"] = [peak_rss_mb(w.popen.pid) for w in pool]
        measured["sink_calls_by_tier"] = (
            httpx.get(f"{dotdigital}/_sandbox/stats", timeout=5).json().get("calls")
        )
        crashed = [w.name for w in pool if w.popen.poll() is not None]
        if crashed:
            raise RuntimeError(f"workers exited during the run: {crashed}")
        run.enter(f"{workers} worker(s): counting what each topic holds")
        held = asyncio.run(records_by_topic(broker.bootstrap))
        orders = measured["pipeline"]["orders"]
        measured["records_per_order"] = {
            topic: round(count / orders, 3)
            for topic, count in sorted(held.items())
            if topic not in (PASS_IN, PASS_OUT)
        }
    if "passthrough" in measured:
        ratio = (
            measured["pipeline"]["events_per_second"] / measured["passthrough"]["events_per_second"]
        )
        measured["ratio"] = round(ratio, 3)
    if profile is not None:
        measured["profile"] = summarise(profile)
    return measured


# --- the report ---


def show(console: Console, report: dict[str, Any]) -> None:
    runs = Table(title="pipeline (raw → normalize → join → commands) vs aiokafka passthrough")
    columns = ("workers", "pipeline ev/s", "normalize ev/s", "passthrough ev/s", "ratio",
               "worker RSS MB", "cores: workers / broker", "worker CPU ms/order",
               "idle cores: workers")  # fmt: skip
    for column in columns:
        runs.add_column(column, justify="right")
    for measured in report["runs"]:
        line = measured["pipeline"]
        passthrough = measured.get("passthrough", {}).get("events_per_second")
        ratio = measured.get("ratio")
        runs.add_row(
            str(measured["workers"]),
            f"{line['events_per_second']:,}",
            f"{line['stages']['normalize_events_per_second']:,}",
            f"{passthrough:,}" if passthrough else "-",
            f"{ratio:.3f}" if ratio is not None else "-",
            ", ".join(str(rss) for rss in measured["worker_peak_rss_mb"]),
            f"{workers_cores(line['cpu_cores']):.2f} / {line['cpu_cores'].get('broker')}",
            f"{line['worker_cpu_ms_per_order']:.2f}",
            f"{workers_cores(measured['idle_cpu_cores']):.2f}",
        )
    if report["runs"]:
        console.print(runs)
    profile = report.get("profile")
    if not profile:
        return
    for key, title, label in (
        ("groups", "where the worker's CPU went", "doing what"),
        ("agents", "in which agent", "agent"),
        ("top_own", "top functions, own time", "function"),
        ("top_cumulative", "top functions, cumulative time", "function"),
        ("parse_sites", "who parses or serialises", "caller → call"),
    ):
        table = Table(title=f"{title} ({profile['samples']:,} samples)")
        table.add_column(label)
        table.add_column("%", justify="right")
        for row in profile[key]:
            table.add_row(str(next(iter(row.values()))), f"{row['percent']:.1f}")
        console.print(table)


def workers_cores(used: dict[str, float | None]) -> float:
    return sum(cores or 0 for name, cores in used.items() if name.startswith("worker"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,3", help="worker counts, comma-separated")
    parser.add_argument(
        "--profile-orders",
        type=int,
        default=5_000,
        help="orders for the sampled single-worker run (0: no profile)",
    )
    parser.add_argument(
        "--low",
        type=int,
        default=5,
        help="the sink's Low tier calls per minute (above the feeds' reserve of 4)",
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per measurement")
    parser.add_argument("--out", default="bench/results/pipeline.json")
    parser.add_argument("--logs", default=".run/bench-pipeline")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    counts = [int(part) for part in args.workers.split(",") if part.strip()]
    logs, out = Path(args.logs), Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    console = Console()
    report: dict[str, Any] = {
        **report_header("pipeline"),
        "configuration": {
            "orders": args.orders,
            "profile_orders": args.profile_orders,
            "partitions": PARTITIONS,
            "events_per_delivery": DELIVERY_EVENTS,
            "worker_log_level": args.log_level,
            "sink_low_calls_per_minute": args.low,
            "bench_producer_linger_ms": LINGER_MS,
        },
        "load_average_at_start": loads(),
        "runs": [],
        "target_ratio": TARGET_RATIO,
    }
    run = Run(args.orders)
    with Live(get_renderable=run.table, console=console, refresh_per_second=2):
        read = deliveries(order_events(args.orders, args.seed))
        run.done.append(("envelopes prepared", f"{sum(len(d.events) for d in read):,}"))
        for workers in counts:
            measured = on_fresh_broker(workers, read, args, run, logs / f"workers-{workers}")
            report["runs"].append({**measured, "load_average_after": loads()})
            out.write_text(json.dumps(report, indent=2) + "\n")  # a run cut short keeps these
            rate = measured["pipeline"]["events_per_second"]
            run.done.append((f"{workers} worker(s): pipeline ev/s", f"{rate:,}"))
        if args.profile_orders:
            sampled = read[: -(-args.profile_orders // DELIVERY_EVENTS)]
            run.orders = sum(len(delivery.events) for delivery in sampled)
            profiled = on_fresh_broker(1, sampled, args, run, logs / "profile", profiled=True)
            report["profile"] = {
                "how": "py-spy 0.4.3 record --rate 100 --nonblocking --format raw, worker 1 of 1",
                "orders": run.orders,
                "pipeline_events_per_second_while_sampled": profiled["pipeline"][
                    "events_per_second"
                ],
                "worker_cpu_cores_while_sampled": workers_cores(profiled["pipeline"]["cpu_cores"]),
                **profiled["profile"],
            }
    out.write_text(json.dumps(report, indent=2) + "\n")
    show(console, report)
    console.print(f"report: {out}")
    return 0


def loads() -> list[float]:
    """The host's load averages (1, 5, 15 min): other work on the same cores shows here."""
    return [round(load, 2) for load in os.getloadavg()]


if __name__ == "__main__":
    sys.exit(main())
