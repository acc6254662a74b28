"""`make bench-triggers`: how long a fired trigger takes to be accepted by Dotdigital, with and
without a batch backlog draining through the sink, next to a raw aiokafka baseline.

Starts a fresh embedded broker, the Dotdigital sandbox (the abandoned-cart program active) and a
worker. A trigger is what a fired abandoned cart puts on the realtime lane under its email: the
contact, its `CartInsight` record (ORDER_PENDING) and the enrolment. Triggers go out at a steady
rate, first on an idle sink, then while thousands of order records drain through the batch lane.
Latency: from producing a trigger's first command (the benchmark's clock) to the sandbox
recording its enrolment (`dateCreated`, the sandbox's clock; the same host clock, milliseconds).
Baseline: the same three records produced in the same moment to a topic of their own on the same
broker, read back by a plain aiokafka consumer with the worker's fetch wait; its latency ends when
the consumer holds the last of the three.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.harness import free_port, peak_rss_mb, percentile, wait_for
from bench.load import CART_PROGRAM, batch_commands, cart_trigger
from sandbox.broker import EmbeddedBroker
from schemas.contract.topics import WRITES, WRITES_REALTIME
from streams.runtime.topics import create_topics
from streams.settings import KafkaSettings

USER = "apiuser-bench@apiconnector.com"
PASSWORD = "bench-password-1"  # noqa: S105 - the sandbox's made-up account
PARTITIONS = 8
BASELINE = "bench.triggers.baseline"
WARM_UP, IDLE, BACKLOG = "warm_up", "without_backlog", "with_backlog"
TARGET_P99 = 2.0


@dataclass
class Progress:
    """What the tasks of one run share: triggers sent, what the sandbox and the baseline saw."""

    phase: str = "starting"
    sent: dict[str, tuple[str, float]] = field(default_factory=dict)  # email -> phase, produced
    baseline: dict[str, float] = field(default_factory=dict)  # email -> last record read
    enrolled: int = 0
    orders: int = 0
    backlog: int = 0
    drained_at: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        sent = sum(1 for phase, _ in self.sent.values() if phase == self.phase)
        backlog = f"   orders landed {self.orders}/{self.backlog}" if self.backlog else ""
        return (
            f"[{self.phase}] triggers sent {sent} (all phases {len(self.sent)}), "
            f"enrolments accepted {self.enrolled}, baseline read {len(self.baseline)}{backlog}"
        )


async def _create_baseline_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(BASELINE, PARTITIONS, 1)])
    finally:
        await admin.close()


async def _read_baseline(
    bootstrap: str, progress: Progress, ready: asyncio.Event, stop: asyncio.Event
) -> None:
    """A plain consumer on the baseline topic: when each trigger's enrolment record arrives."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=KafkaSettings().fetch_max_wait_ms,  # the worker's
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(BASELINE, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        ready.set()
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batches.values():
                for record in records:
                    if record.key and orjson.loads(record.value)["command"]["kind"] == "enrolment":
                        progress.baseline[record.key.decode()] = now
    finally:
        await consumer.stop()


async def _send_triggers(
    producer: AIOKafkaProducer,
    progress: Progress,
    rate: float,
    done: Callable[[int], bool],
) -> None:
    """One trigger every 1/rate s until `done(sent in this phase)`: its three commands on the
    realtime lane and the same three on the baseline topic, acknowledged before the next."""
    gap = 1.0 / rate
    next_at = time.monotonic()
    count = 0
    while not done(count):
        email, values = cart_trigger(len(progress.sent))
        key = email.encode()
        produced = time.time()
        futures = [await producer.send(WRITES_REALTIME, value=v, key=key) for v in values]
        futures += [await producer.send(BASELINE, value=v, key=key) for v in values]
        progress.sent[email] = (progress.phase, produced)
        count += 1
        await asyncio.gather(*futures)
        next_at += gap
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))  # the steady rate


async def _produce_backlog(bootstrap: str, orders: int) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=256 * 1024
    )
    await producer.start()
    try:
        for key, value in batch_commands(orders):
            await producer.send(WRITES, value=value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def _watch(sandbox: str, progress: Progress, stop: asyncio.Event) -> None:
    """The sandbox once a second: orders landed (the backlog), enrolments accepted."""
    async with httpx.AsyncClient(base_url=sandbox, timeout=30) as http:
        while not stop.is_set():
            progress.stats = (await http.get("/_sandbox/stats")).json()
            progress.orders = progress.stats["collections"].get("Orders", 0)
            progress.enrolled = len((await http.get("/_sandbox/enrolments")).json()["enrolments"])
            if progress.backlog and progress.orders >= progress.backlog and not progress.drained_at:
                progress.drained_at = time.time()
            await asyncio.sleep(1)  # sampling the sandbox, not waiting for it


async def _report_progress(progress: Progress, stop: asyncio.Event, every: float) -> None:
    while not stop.is_set():
        print(progress.line(), flush=True)
        await asyncio.sleep(every)  # a progress line for the operator


async def _settle(progress: Progress, within: float) -> None:
    """Until the sandbox accepted an enrolment for every trigger sent (or `within` seconds)."""
    deadline = time.monotonic() + within
    settled = progress.enrolled, len(progress.baseline)
    while time.monotonic() < deadline and min(settled) < len(progress.sent):
        await asyncio.sleep(0.5)  # the watcher polls the sandbox; there is no event to wait on
        settled = progress.enrolled, len(progress.baseline)


async def _phases(args: argparse.Namespace, bootstrap: str, sandbox: str) -> dict[str, Any]:
    progress = Progress()
    stop, ready = asyncio.Event(), asyncio.Event()
    background = [
        asyncio.create_task(_read_baseline(bootstrap, progress, ready, stop)),
        asyncio.create_task(_watch(sandbox, progress, stop)),
        asyncio.create_task(_report_progress(progress, stop, args.progress_every)),
    ]
    await ready.wait()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()
    times: dict[str, float] = {}
    try:
        progress.phase = WARM_UP  # first connections and the ledger's first read: not measured
        await _send_triggers(producer, progress, args.rate, lambda n: n >= args.warm_up)
        await _settle(progress, args.settle_timeout)

        progress.phase = IDLE
        await _send_triggers(producer, progress, args.rate, lambda n: n >= args.idle_triggers)
        await _settle(progress, args.settle_timeout)

        progress.phase = BACKLOG
        progress.backlog = args.orders
        times["backlog_started"] = time.time()
        await _produce_backlog(bootstrap, args.orders)
        times["backlog_produced"] = time.time()
        deadline = time.monotonic() + args.timeout
        await _send_triggers(
            producer,
            progress,
            args.rate,
            lambda n: (
                (progress.drained_at is not None and n >= args.min_backlog_triggers)
                or time.monotonic() > deadline
            ),
        )
        times["triggers_stopped"] = time.time()
        await _settle(progress, args.settle_timeout)
        progress.phase = "collecting"
    finally:
        await producer.stop()
        stop.set()
        await asyncio.gather(*background)
    times["drained"] = progress.drained_at or 0.0
    return {"progress": progress, "times": times}


def _accepted(sandbox: str) -> dict[str, float]:
    """Email -> when the sandbox accepted its enrolment into the cart program (epoch seconds)."""
    admin = httpx.Client(base_url=sandbox, timeout=120)
    emails = {
        row["contactId"]: row["identifiers"]["email"]
        for row in admin.get("/_sandbox/contacts").json()["contacts"]
    }
    accepted: dict[str, float] = {}
    for row in admin.get("/_sandbox/enrolments").json()["enrolments"]:
        if row["programId"] != CART_PROGRAM:
            continue
        moment = datetime.fromisoformat(row["dateCreated"].replace("Z", "+00:00")).timestamp()
        for contact_id in row["contacts"]:
            accepted.setdefault(emails[contact_id], moment)
    return accepted


def _figures(latencies: list[float]) -> dict[str, Any]:
    latencies = sorted(latencies)
    return {
        "count": len(latencies),
        "p50_seconds": percentile(latencies, 0.50),
        "p95_seconds": percentile(latencies, 0.95),
        "p99_seconds": percentile(latencies, 0.99),
        "max_seconds": round(latencies[-1], 3) if latencies else None,
    }


def _ratio(ours: float | None, base: float | None) -> float | None:
    return round(ours / base, 1) if ours is not None and base else None


def _dump_series(progress: Progress, accepted: dict[str, float], path: Path) -> None:
    """Each trigger as [phase, produced, seconds to acceptance, seconds to the baseline read]."""
    rows = [
        [
            phase,
            round(at, 3),
            round(accepted[email] - at, 3) if email in accepted else None,
            round(progress.baseline[email] - at, 3) if email in progress.baseline else None,
        ]
        for email, (phase, at) in progress.sent.items()
    ]
    path.write_text(json.dumps(sorted(rows, key=lambda row: row[1])))


def _phase_report(progress: Progress, accepted: dict[str, float], phase: str) -> dict[str, Any]:
    sent = {email: at for email, (p, at) in progress.sent.items() if p == phase}
    ours = _figures([accepted[e] - at for e, at in sent.items() if e in accepted])
    base = _figures([progress.baseline[e] - at for e, at in sent.items() if e in progress.baseline])
    return {
        "triggers_sent": len(sent),
        "enrolments_accepted": ours["count"],
        "trigger_to_acceptance": ours,
        "baseline_produce_to_consume": base,
        "ratio_p50": _ratio(ours["p50_seconds"], base["p50_seconds"]),
        "ratio_p99": _ratio(ours["p99_seconds"], base["p99_seconds"]),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    broker = EmbeddedBroker(port=free_port()).start()
    sandbox_port, web_port = free_port(), free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARTWRIGHT_")}
    env.update(
        {
            "CARTWRIGHT_KAFKA__BOOTSTRAP": broker.bootstrap,
            "CARTWRIGHT_KAFKA__PARTITIONS": str(PARTITIONS),
            "CARTWRIGHT_DOTDIGITAL__BASE_URL": sandbox,
            "CARTWRIGHT_DOTDIGITAL__USERNAME": USER,
            "CARTWRIGHT_DOTDIGITAL__PASSWORD": PASSWORD,
            "CARTWRIGHT_DOTDIGITAL__LOW_PER_MINUTE": str(args.low),
            "CARTWRIGHT_DOTDIGITAL__MEDIUM_PER_MINUTE": str(args.medium),
            "CARTWRIGHT_ORDERS__BATCH_SIZE": str(2 * args.records_per_call),
            "CARTWRIGHT_ORDERS__BATCH_INTERVAL": "1",
            "CARTWRIGHT_WEB__PORT": str(web_port),
            "CARTWRIGHT_LOG_LEVEL": args.log_level,
        }
    )
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "streams"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(
            subprocess.Popen(  # noqa: S603 - our own CLI
                [*cli, "sandbox", "dotdigital", "--port", str(sandbox_port)],
                env=env,
                stdout=(logs / "dotdigital.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        wait_for(lambda: httpx.get(f"{sandbox}/_sandbox/stats").status_code == 200, "sandbox")
        budgets = {"low": args.low, "medium": args.medium, "high": 1000, "unlimited": None}
        httpx.post(f"{sandbox}/_sandbox/limits", json={"tier_budgets": budgets}).raise_for_status()
        programs = {"programs": {"1": True, str(CART_PROGRAM): True}}
        httpx.post(f"{sandbox}/_sandbox/programs", json=programs).raise_for_status()
        # A single record PUT needs its collection: the account has CartInsight already (the
        # official extension's, or made by a first import, as here).
        httpx.put(
            f"{sandbox}/insightData/v3/import",
            auth=(USER, PASSWORD),
            json={
                "collectionName": "CartInsight",
                "collectionScope": "contact",
                "collectionType": "cartInsight",
                "records": [],
            },
        ).raise_for_status()
        asyncio.run(create_topics(broker.bootstrap, PARTITIONS))
        asyncio.run(_create_baseline_topic(broker.bootstrap))
        worker = subprocess.Popen(  # noqa: S603 - our own CLI
            [*cli, "worker"],
            env=env,
            stdout=(logs / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        processes.append(worker)
        status = f"http://127.0.0.1:{web_port}/ops/status"
        wait_for(lambda: httpx.get(status).json().get("assigned"), "worker")
        print(f"worker up; {args.idle_triggers} triggers at {args.rate}/s on an idle sink, then "
              f"{args.orders} orders of backlog with triggers until it drains", flush=True)  # fmt: skip
        outcome = asyncio.run(_phases(args, broker.bootstrap, sandbox))
        peak_rss = peak_rss_mb(worker.pid)
        accepted = _accepted(sandbox)
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.stop()

    progress: Progress = outcome["progress"]
    times: dict[str, float] = outcome["times"]
    _dump_series(progress, accepted, logs / "trigger-latencies.json")
    idle = _phase_report(progress, accepted, IDLE)
    busy = _phase_report(progress, accepted, BACKLOG)
    drained = times["drained"]
    busy["backlog"] = {
        "order_records": args.orders,
        "commands": 2 * args.orders,
        "seconds_to_produce": round(times["backlog_produced"] - times["backlog_started"], 1),
        "seconds_to_drain": round(drained - times["backlog_started"], 1) if drained else None,
        "triggers_sent_while_draining": sum(
            1
            for phase, at in progress.sent.values()
            if phase == BACKLOG and (not drained or at < drained)
        ),
    }
    stats = progress.stats
    calls = sum(stats.get("calls", {}).values())
    p99s = [phase["trigger_to_acceptance"]["p99_seconds"] for phase in (idle, busy)]
    return {
        "benchmark": "triggers",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # The host's other work (1-minute load average) when the run ended.
            "load_average_at_end": round(os.getloadavg()[0], 2),
        },
        "measures": (
            "seconds from producing a fired cart's realtime commands (contact, CartInsight "
            "record, enrolment) to the Dotdigital sandbox recording the enrolment (dateCreated); "
            "baseline: the same records produced to their own topic on the same broker, read "
            "by a plain aiokafka consumer with the worker's fetch wait"
        ),
        "configuration": {
            "trigger_rate_per_second": args.rate,
            "warm_up_triggers": args.warm_up,
            "idle_triggers": args.idle_triggers,
            "backlog_order_records": args.orders,
            "low_calls_per_minute": args.low,
            "medium_calls_per_minute": args.medium,
            "records_per_call": args.records_per_call,
            "partitions": PARTITIONS,
            "fetch_max_wait_ms": KafkaSettings().fetch_max_wait_ms,
        },
        IDLE: idle,
        BACKLOG: busy,
        "calls": {
            "by_tier": stats.get("calls", {}),
            "total": calls,
            "answered_429": stats.get("rate_limited"),
        },
        "worker_peak_rss_mb": peak_rss,
        "end_to_end": (
            "not measured here: a cart fires from the carts ticker, so the cart-event-to-"
            "acceptance figure adds up to one tick interval (CARTWRIGHT_CARTS__TICK_INTERVAL) "
            "to the figures above"
        ),
        "targets": {"p99_seconds_below": TARGET_P99},
        "met": all(p is not None and p < TARGET_P99 for p in p99s),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=4.0, help="triggers per second")
    parser.add_argument("--warm-up", type=int, default=5, help="triggers before measuring")
    parser.add_argument("--idle-triggers", type=int, default=200)
    parser.add_argument("--orders", type=int, default=20_000, help="order records of backlog")
    parser.add_argument(
        "--min-backlog-triggers", type=int, default=100, help="even if the backlog drains sooner"
    )
    parser.add_argument("--low", type=int, default=35, help="Low tier calls per minute")
    parser.add_argument("--medium", type=int, default=3000, help="Medium tier calls per minute")
    parser.add_argument("--records-per-call", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=900.0, help="longest backlog phase")
    parser.add_argument("--settle-timeout", type=float, default=120.0)
    parser.add_argument("--progress-every", type=float, default=5.0, help="seconds")
    parser.add_argument("--out", default="bench/results/triggers.json")
    parser.add_argument("--logs", default=".run/bench-triggers")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    report = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
