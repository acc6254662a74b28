"""`make bench-ingest`: how fast a worker's webhook stores signed Adobe I/O deliveries on the raw
topic, one event per POST and in batches, next to raw aiokafka produce of the same envelopes.

Starts a fresh embedded broker, the Dotdigital sandbox (the worker's agents turn every order into
Dotdigital writes, as in production) and a `cartwright worker` that verifies every delivery's
signature against Adobe's public keys, which this process hosts. Then, on that one broker, one
phase after the other, each starting once the worker is idle again:

1. single: `--events` order events (guest orders from the Commerce simulator), one per POST,
   `--concurrency` requests in flight; latency from sending a POST to its 200;
2. batched: as many more, in Adobe batch deliveries (a JSON array) of `--batch-size` events;
3. raw: the envelopes of phase 2 exactly as the webhook publishes them on commerce.raw.v1 (key,
   bytes and event-id header, read with the webhook's own reader) produced by the project's
   plain aiokafka producer (acks=all, linger 10 ms, 256 KB batches) to a topic of their own;
4. profile: `--profile-events` more in batches while py-spy samples the worker; timed apart from
   the figures above, since sampling slows what it samples.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console
from rich.table import Table

from bench import hotspots
from bench.harness import (
    cpu_seconds,
    figures,
    free_port,
    peak_rss_mb,
    report_header,
    stop_all,
    wait_for,
    wait_idle,
)
from bench.store import CLIENT_ID, PASSWORD, USER, Event, KeyHost
from sandbox.broker import EmbeddedBroker
from sandbox.commerce.adobe_io.signing import Signer
from sandbox.commerce.simulator.clock import SimulatedClock
from sandbox.commerce.simulator.events import ORDER_SAVED
from sandbox.commerce.simulator.store import Store
from streams.runtime.producer import LINGER_MS, MAX_BATCH_BYTES, producer
from streams.runtime.topics import create_topics
from streams.sources.deliveries import read_delivery
from streams.sources.raw_publisher import EVENT_ID_HEADER
from streams.sources.replay.progress import Progress

PARTITIONS = 8
BASELINE = "bench.ingest.baseline"
SKU = "MJ01-S-Red"
TARGET_BATCHED_TO_RAW = 0.5
Message = tuple[bytes, bytes, list[tuple[str, bytes]]]


@dataclass(frozen=True)
class Signed:
    """One delivery as Adobe I/O sends it: the body, its signature headers, its events."""

    body: bytes
    headers: dict[str, str]
    events: int


def _orders(count: int) -> list[Event]:
    """`count` guest orders' save events, a millisecond apart from now (their carts' saves,
    which Commerce emits too, are left out: every event here is an order)."""
    clock = SimulatedClock(datetime.now(UTC))
    store = Store(seed=42, clock=clock, client_id=CLIENT_ID, keep_events=False)
    events: list[Event] = []
    store.listen(lambda event: events.append(event) if event["type"] == ORDER_SAVED else None)
    for number in range(count):
        store.clock.advance(0.001)
        guest = store.guest(f"ingest-{number}@bench.example.com", "Bench", "Buyer")
        store.place_order(guest, [store.catalogue.line(SKU, 1 + number % 3)])
    return events


def _sign(signer: Signer, events: list[Event], size: int, progress: Progress) -> list[Signed]:
    """`events` as deliveries of `size` (1: one CloudEvent per body; more: a JSON array)."""
    signed = []
    for start in range(0, len(events), size):
        part = events[start : start + size]
        body = orjson.dumps(part[0] if size == 1 else part)
        signed.append(Signed(body, signer.headers(body, str(part[0]["eventid"])), len(part)))
        progress.advance(len(part))
    return signed


def _raw_messages(deliveries: list[Signed]) -> list[Message]:
    """What the webhook puts on commerce.raw.v1 for these deliveries: each envelope's key, its
    exact bytes and the event-id header (streams/sources/raw_publisher.py)."""
    messages = []
    for delivery in deliveries:
        for event in read_delivery(delivery.body, CLIENT_ID).events:
            headers = [(EVENT_ID_HEADER, event.event_id.encode())]
            messages.append((event.key.encode(), event.value, headers))
    return messages


async def _warm_up(url: str, deliveries: list[Signed], within: float = 60) -> None:
    """Deliver each until it gets its 200: the first connections, the key fetch, and the
    worker's start (it answers 503 until its de-duplication is seeded)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=30) as http:
        for delivery in deliveries:
            while (await http.post(url, content=delivery.body, headers=delivery.headers)).is_error:
                if time.monotonic() > deadline:
                    raise RuntimeError("the webhook did not take the warm-up deliveries")
                await asyncio.sleep(0.5)  # the worker said "retry later"


async def _deliver(
    url: str, deliveries: list[Signed], concurrency: int, pid: int, progress: Progress
) -> dict[str, Any]:
    """POST every delivery, `concurrency` at a time; what it took the worker to answer them."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    accepted = 0
    pending = iter(deliveries)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def sender() -> None:
            nonlocal accepted
            for delivery in pending:  # one iterator: each sender takes the next delivery
                began = time.perf_counter()
                response = await http.post(url, content=delivery.body, headers=delivery.headers)
                took = time.perf_counter() - began
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    latencies.append(took)
                    accepted += int(response.json()["accepted"])
                progress.advance(delivery.events)

        load_before = os.getloadavg()[0]
        worker_before, client_before = cpu_seconds(pid), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        worker_cpu, client_cpu = (
            cpu_seconds(pid) - worker_before,
            time.process_time() - client_before,
        )
    events = sum(delivery.events for delivery in deliveries)
    return {
        "deliveries": len(deliveries),
        "events": events,
        "events_per_delivery": deliveries[0].events,
        "events_accepted": accepted,
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds, 1),
        "deliveries_per_second": round(len(deliveries) / seconds, 1),
        "latency_to_200": figures(latencies),
        "worker_cpu_seconds": round(worker_cpu, 2),
        "worker_cpu_ms_per_event": round(1000 * worker_cpu / events, 3),
        "client_cpu_seconds": round(client_cpu, 2),
        # The host's 1-minute load average as the phase began and ended (other work on it).
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


async def _create_baseline_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(BASELINE, PARTITIONS, 1)])
    finally:
        await admin.close()


async def _produce_raw(bootstrap: str, messages: list[Message], rounds: int) -> dict[str, Any]:
    """The same envelopes straight to the broker: send them all, then wait for every ack."""
    kafka = producer(bootstrap)
    await kafka.start()
    per_second = []
    load_before = os.getloadavg()[0]
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            acks = [await kafka.send(BASELINE, value=v, key=k, headers=h) for k, v, h in messages]
            await asyncio.gather(*acks)
            per_second.append(round(len(messages) / (time.perf_counter() - started), 1))
    finally:
        await kafka.stop()
    return {
        "events": len(messages),
        "rounds": rounds,
        "events_per_second_each_round": per_second,
        "events_per_second": statistics.median(per_second),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "producer": {"acks": "all", "linger_ms": LINGER_MS, "max_batch_bytes": MAX_BATCH_BYTES},
    }


def _ratio(ours: float, raw: float) -> float:
    return round(ours / raw, 3)


def _figures_table(report: dict[str, Any]) -> Table:
    shown = Table(title="webhook ingest vs raw produce, one broker")
    for column in ("phase", "events/s", "÷ raw", "p50 to 200", "p99 to 200", "worker CPU/event"):
        shown.add_column(column, justify="left" if column == "phase" else "right")
    raw = report["raw_produce"]["events_per_second"]
    for name in ("single", "batched", "batched_profiled"):
        phase = report[name]
        latency = phase["latency_to_200"]
        shown.add_row(
            f"{name} ({phase['events_per_delivery']}/delivery)",
            f"{phase['events_per_second']:,.0f}",
            f"{phase['events_per_second'] / raw:.2f}",
            f"{latency['p50_seconds']} s",
            f"{latency['p99_seconds']} s",
            f"{phase['worker_cpu_ms_per_event']} ms",
        )
    shown.add_row("raw aiokafka produce", f"{raw:,.0f}", "1.00", "", "", "")
    return shown


def _worker_env(
    args: argparse.Namespace, bootstrap: str, sandbox: str, keys: str, port: int
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARTWRIGHT_")}
    env.update(
        {
            "CARTWRIGHT_KAFKA__BOOTSTRAP": bootstrap,
            "CARTWRIGHT_KAFKA__PARTITIONS": str(PARTITIONS),
            "CARTWRIGHT_DOTDIGITAL__BASE_URL": sandbox,
            "CARTWRIGHT_DOTDIGITAL__USERNAME": USER,
            "CARTWRIGHT_DOTDIGITAL__PASSWORD": PASSWORD,
            "CARTWRIGHT_WEB__PORT": str(port),
            "CARTWRIGHT_LOG_LEVEL": args.log_level,
            "CARTWRIGHT_ADOBE__CLIENT_ID": CLIENT_ID,
            "CARTWRIGHT_ADOBE__PUBLIC_KEY_HOST": keys,
        }
    )
    return env


def run(args: argparse.Namespace) -> dict[str, Any]:
    progress = Progress(every=args.progress_every)
    total = args.warm_up + 2 * args.events + args.profile_events
    print(f"generating {total:,} order events", flush=True)
    events = _orders(total)
    signer = Signer()
    warm, events = events[: args.warm_up], events[args.warm_up :]
    single, events = events[: args.events], events[args.events :]
    batched, profiled = events[: args.events], events[args.events :]
    progress.start("signing deliveries", total + args.warm_up)
    warm_up = _sign(signer, warm, 1, progress) + _sign(signer, warm, args.batch_size, progress)
    singles = _sign(signer, single, 1, progress)
    batches = _sign(signer, batched, args.batch_size, progress)
    profile_batches = _sign(signer, profiled, args.batch_size, progress)
    progress.finish()
    messages = _raw_messages(batches)

    broker = EmbeddedBroker(port=free_port()).start()
    keys = KeyHost(signer)
    sandbox_port, web_port = free_port(), free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    webhook = f"http://127.0.0.1:{web_port}/webhooks/adobe-commerce"
    env = _worker_env(args, broker.bootstrap, sandbox, keys.url, web_port)
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "streams"]
    processes: list[subprocess.Popen[bytes]] = []
    report: dict[str, Any] = {}
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
        asyncio.run(_warm_up(webhook, warm_up))
        idle: dict[str, float] = {"before_single": wait_idle(worker.pid)}

        def take(name: str, deliveries: list[Signed]) -> dict[str, Any]:
            count = sum(delivery.events for delivery in deliveries)
            progress.start(f"{name}: events delivered", count)
            before = cpu_seconds(worker.pid)
            taken = asyncio.run(
                _deliver(webhook, deliveries, args.concurrency, worker.pid, progress)
            )
            progress.finish()
            idle[f"after_{name}"] = wait_idle(worker.pid)
            # Until idle again: the agents' share of the phase too (normalize, join, the sink).
            spent = cpu_seconds(worker.pid) - before
            taken["worker_cpu_ms_per_event_with_agents"] = round(1000 * spent / count, 3)
            return taken

        report["single"] = take("single", singles)
        report["batched"] = take("batched", batches)
        print(f"raw produce: {len(messages):,} envelopes, {args.raw_rounds} rounds", flush=True)
        report["raw_produce"] = asyncio.run(
            _produce_raw(broker.bootstrap, messages, args.raw_rounds)
        )
        idle["after_raw"] = wait_idle(worker.pid)
        recording = hotspots.Recording(
            worker.pid, logs / "worker-profile.txt", hotspots.ingest_group
        )
        recording.start()
        progress.start("batched, profiled: events delivered", len(profiled))
        report["batched_profiled"] = asyncio.run(
            _deliver(webhook, profile_batches, args.concurrency, worker.pid, progress)
        )
        progress.finish()
        recording.stop()
        report["profile"] = recording.summary()
        report["idle_waits_seconds"] = idle
        report["worker_peak_rss_mb"] = peak_rss_mb(worker.pid)
    finally:
        stop_all(processes)
        broker.stop()
        keys.close()

    raw = report["raw_produce"]["events_per_second"]
    ratios = {
        "single_to_raw": _ratio(report["single"]["events_per_second"], raw),
        "batched_to_raw": _ratio(report["batched"]["events_per_second"], raw),
    }
    return {
        **report_header("ingest"),
        "measures": (
            "events a second a worker's webhook stores on commerce.raw.v1 (a 200 answers only "
            "once the broker acknowledged every event of the delivery), signatures verified "
            "against this process's key host, next to a plain aiokafka producer sending the "
            "same envelopes to a topic of their own on the same broker; latency from sending "
            "a POST to its 200"
        ),
        "configuration": {
            "events_per_phase": args.events,
            "batch_size": args.batch_size,
            "concurrency": args.concurrency,
            "warm_up_events": args.warm_up,
            "profile_events": args.profile_events,
            "partitions": PARTITIONS,
            "log_level": args.log_level,
            "event_bytes_mean": round(statistics.mean(len(v) for _, v, _ in messages)),
            "signatures": "two RSA-SHA256 (2048-bit) per delivery, as Adobe I/O signs",
        },
        "single": report["single"],
        "batched": report["batched"],
        "raw_produce": report["raw_produce"],
        "ratios": ratios,
        "batched_profiled": report["batched_profiled"],
        "worker_peak_rss_mb": report["worker_peak_rss_mb"],
        "idle_waits_seconds": report["idle_waits_seconds"],
        "profile": report["profile"],
        "targets": {"batched_to_raw_at_least": TARGET_BATCHED_TO_RAW},
        "met": ratios["batched_to_raw"] >= TARGET_BATCHED_TO_RAW,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5_000, help="events in each phase")
    parser.add_argument("--batch-size", type=int, default=50, help="events per batch delivery")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--warm-up", type=int, default=20, help="events before measuring")
    parser.add_argument("--profile-events", type=int, default=20_000)
    parser.add_argument("--raw-rounds", type=int, default=3, help="the baseline's median of")
    parser.add_argument("--progress-every", type=float, default=5.0, help="seconds, off a tty")
    parser.add_argument("--out", default="bench/results/ingest.json")
    parser.add_argument("--logs", default=".run/bench-ingest")
    parser.add_argument("--log-level", default="info", help="the worker's (production: info)")
    args = parser.parse_args()
    report = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    console = Console()
    console.print(_figures_table(report))
    console.print(
        f"single ÷ raw {report['ratios']['single_to_raw']}, batched ÷ raw "
        f"{report['ratios']['batched_to_raw']} (target ≥ {TARGET_BATCHED_TO_RAW}); "
        f"worker peak RSS {report['worker_peak_rss_mb']} MB; report: {args.out}"
    )
    hotspots.show(report["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
