"""`make bench-pipeline`: order envelopes from the raw topic to Dotdigital write commands.

For each worker count (`--workers 1,2,3`), on a fresh embedded broker: first the baseline, a
plain aiokafka consume → produce passthrough (bench/passthrough.py, a process of its own) moving
the order envelopes from one topic to another; then `cartwright worker` processes on one group,
the same envelopes put on `commerce.raw.v1` exactly as the webhook's RawPublisher puts them
there, timed from the first raw record to the moment the normalize and join agents have
produced an `Orders` write command for every order on `dotdigital.writes.v1`. Last, one more
single-worker run with py-spy sampling the worker, summarised by function, by what the time went
to and by agent (bench/hotspots.py). The sink runs against the Dotdigital
sandbox with a Low budget of `--low` calls a minute, so the batch lane stays out of the way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console
from rich.live import Live
from rich.table import Table

from bench import hotspots
from bench.harness import cpu_times, free_port, peak_rss_mb, report_header, wait_for
from sandbox.broker import EmbeddedBroker
from sandbox.commerce.simulator.clock import SimulatedClock
from sandbox.commerce.simulator.events import ORDER_SAVED
from sandbox.commerce.simulator.ledger import Event
from sandbox.commerce.simulator.store import Store
from schemas.contract.topics import ORDERS, RAW, WRITES
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.producer import LINGER_MS, producer
from streams.runtime.topics import create_topics
from streams.sources.deliveries import Delivery, read_delivery
from streams.sources.raw_publisher import EVENT_ID_HEADER, RawPublisher
from tests.support.accounts import CLIENT_ID
from tests.support.stack import Process, base_env, eventually, start_cli, worker_url

# --- the traffic: sandbox orders as the webhook stores them ---

DELIVERY_EVENTS = 100  # events per delivery, as Adobe I/O batches them
ORDER_SPACING = 0.05  # seconds of Commerce time between two orders


def order_events(orders: int, seed: int) -> list[Event]:
    """`orders` guest orders placed in the sandbox store, each its own email and 1-3 lines; the
    last placed now, the others before it."""
    start = datetime.now(UTC) - timedelta(seconds=orders * ORDER_SPACING)
    store = Store(seed=seed, clock=SimulatedClock(start), client_id=CLIENT_ID, keep_events=False)
    placed: list[Event] = []
    store.listen(lambda event: placed.append(event) if event["type"] == ORDER_SAVED else None)
    chooser = random.Random(seed)  # noqa: S311 - a load's shape, not a secret
    saleable = store.catalogue.saleable()
    for number in range(orders):
        guest = store.guest(f"buyer-{number}@pipeline.example.com", "Bench", f"Buyer{number}")
        lines = []
        for product in chooser.sample(saleable, chooser.randint(1, 3)):
            sku = (
                chooser.choice(product.children)
                if product.type_id == "configurable"
                else product.sku
            )
            lines.append(store.catalogue.line(sku, chooser.randint(1, 3)))
        store.place_order(guest, lines)
        store.clock.advance(ORDER_SPACING)
    return placed


def deliveries(events: list[Event]) -> list[Delivery]:
    """The events as the webhook reads Adobe's deliveries (keys, exact bytes, ids)."""
    read = []
    for begin in range(0, len(events), DELIVERY_EVENTS):
        body = orjson.dumps(events[begin : begin + DELIVERY_EVENTS])
        delivery = read_delivery(body, CLIENT_ID)
        if delivery.unreadable or delivery.refused or delivery.foreign_recipients:
            raise RuntimeError(f"the webhook would not take delivery {begin}: {delivery}")
        read.append(delivery)
    return read


class ProducedTopic:
    """A topic the way RawPublisher sends to it (Faust's `topic.send`), on a plain producer."""

    def __init__(self, producer: AIOKafkaProducer, name: str, sent: Callable[[], None]) -> None:
        self._producer = producer
        self._name = name
        self._sent = sent

    async def send(self, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> Any:
        self._sent()
        return await self._producer.send(self._name, value=value, key=key, headers=headers)


async def publish(
    bootstrap: str, topic: str, read: list[Delivery], sent: Callable[[], None]
) -> dict[str, float]:
    """Every delivery through the webhook's RawPublisher onto `topic`, all at once; when the
    first record went and when the broker had acknowledged the last."""
    kafka = producer(bootstrap)
    await kafka.start()
    try:
        metrics = Metrics()
        publisher = RawPublisher(
            ProducedTopic(kafka, topic, sent),
            Incidents(None, None, metrics),
            metrics,
            timeout=120,
        )
        started = time.time()
        await asyncio.gather(*(publisher.publish(delivery, source="bench") for delivery in read))
        return {"started": started, "acknowledged": time.time()}
    finally:
        await kafka.stop()


# --- what the broker shows ---


@dataclass
class Tally:
    """The distinct items seen on a topic, each with its first record's timestamp (the
    producer's clock: CreateTime, this host), and how many records."""

    first: dict[str, float] = field(default_factory=dict)
    records: int = 0

    def note(self, item: str | None, timestamp_ms: int) -> None:
        self.records += 1
        if item is not None and item not in self.first:
            self.first[item] = timestamp_ms / 1000

    def seen(self) -> int:
        return len(self.first)

    def all_by(self) -> float | None:
        """When the last of the items first appeared."""
        return max(self.first.values()) if self.first else None


Item = Callable[[Any], str | None]


def normalized_order(record: Any) -> str | None:
    return str(orjson.loads(record.value)["increment_id"])


def orders_command(record: Any) -> str | None:
    """The order an `Orders` insight write command is for (its record key), else None."""
    command = orjson.loads(record.value)["command"]
    if command["kind"] == "insight" and command["collection"] == "Orders":
        return str(command["record"]["key"])
    return None


def event_id(record: Any) -> str | None:
    return next((v.decode() for k, v in record.headers if k == EVENT_ID_HEADER), None)


async def watch(
    bootstrap: str,
    items: dict[str, Item],
    tallies: dict[str, Tally],
    goal: str,
    count: int,
) -> None:
    """Read the topics of `items` from the start until `goal`'s tally holds `count` items."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    try:
        await consumer.topics()
        assignment = [
            TopicPartition(topic, partition)
            for topic in items
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(assignment)
        await consumer.seek_to_beginning(*assignment)
        while tallies[goal].seen() < count:
            polled = await consumer.getmany(timeout_ms=200, max_records=5000)
            for partition, records in polled.items():
                item, tally = items[partition.topic], tallies[partition.topic]
                for record in records:
                    tally.note(item(record), record.timestamp)
    finally:
        await consumer.stop()


async def send_and_watch(
    bootstrap: str,
    topic: str,
    read: list[Delivery],
    tallies: dict[str, Tally],
    sent: Callable[[], None],
    items: dict[str, Item],
    goal: str,
    seconds: float,
) -> dict[str, float]:
    """Publish the deliveries onto `topic` while watching `items`' topics; done once `goal`
    holds an item per envelope, or RuntimeError after `seconds`."""
    count = sum(len(delivery.events) for delivery in read)
    watching = asyncio.create_task(watch(bootstrap, items, tallies, goal, count))
    times = await publish(bootstrap, topic, read, sent)
    try:
        await asyncio.wait_for(watching, seconds)
    except TimeoutError:
        raise RuntimeError(
            f"{goal}: {tallies[goal].seen()} of {count} after {seconds:.0f} s"
        ) from None
    return times


async def records_by_topic(bootstrap: str, quiet: float = 2.0) -> dict[str, int]:
    """How many records each topic holds, read from the start until nothing came for `quiet`
    seconds (the embedded broker's end offsets are one batch short, so they are not asked)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    counts: dict[str, int] = {}
    try:
        assignment = [
            TopicPartition(topic, partition)
            for topic in sorted(await consumer.topics())
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(assignment)
        await consumer.seek_to_beginning(*assignment)
        last_news = time.monotonic()
        while time.monotonic() - last_news < quiet:
            polled = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for partition, records in polled.items():
                if records:
                    counts[partition.topic] = counts.get(partition.topic, 0) + len(records)
                    last_news = time.monotonic()
    finally:
        await consumer.stop()
    return counts


# --- the benchmark ---

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
    recording: hotspots.Recording | None = None,
) -> dict[str, Any]:
    """Every envelope onto the raw topic; seconds until the normalized orders and their write
    commands are all on the broker."""
    orders = sum(len(delivery.events) for delivery in read)
    run.tallies = {ORDERS: Tally(), WRITES: Tally()}
    if recording is not None:
        recording.start()
    before = cpu_times(pids)

    items: dict[str, Item] = {ORDERS: normalized_order, WRITES: orders_command}
    try:
        sent = asyncio.run(
            send_and_watch(bootstrap, RAW, read, run.tallies, run.count, items, WRITES, timeout)
        )
        after, ended = cpu_times(pids), time.time()
    finally:
        if recording is not None:
            recording.stop()
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
            CARTWRIGHT_TABLES__STANDBY_REPLICAS=str(args.standby_replicas),
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
        recording = (
            hotspots.Recording(
                pool[0].popen.pid,
                logs / "worker-1.pyspy.txt",
                hotspots.pipeline_group,
                nonblocking=True,
            )
            if profiled
            else None
        )
        measured["pipeline"] = pipeline(broker.bootstrap, pids, read, run, args.timeout, recording)
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
    if recording is not None:
        measured["profile"] = recording.summary()
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
    if profile:
        hotspots.show(profile, console)


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
    parser.add_argument(
        "--standby-replicas",
        type=int,
        default=1,
        help="the workers' TABLES__STANDBY_REPLICAS (Faust's default, 1)",
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
            "table_standby_replicas": args.standby_replicas,
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
