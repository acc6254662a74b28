"""`make bench-sink`: 100,000 order records and 5,000 realtime writes through the sink, measured.

Starts a fresh embedded broker, the Dotdigital sandbox at the configured limits and a worker,
puts the commands on the two write topics, watches the sandbox fill up, and writes a JSON report:
records landed per minute against the budget ceiling, 429s, realtime latency while the batch
lane drains, and the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from bench.harness import free_port, peak_rss_mb, percentile, report_header, stop_all, wait_for
from bench.load import batch_commands, realtime_command
from bench.store import PASSWORD, USER
from sandbox.broker import EmbeddedBroker
from schemas.contract.topics import WRITES, WRITES_REALTIME
from streams.runtime.topics import create_topics

PARTITIONS = 8


async def _produce(bootstrap: str, orders: int, realtime: int, spread: float) -> dict[str, float]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=20,
        max_batch_size=256 * 1024,
    )
    messages = batch_commands(orders)
    await producer.start()
    try:
        started = time.time()
        for key, value in messages:
            await producer.send(WRITES, value=value, key=key)
        await producer.flush()
        batch_produced = time.time()
        gap = spread / max(realtime, 1)
        for number in range(realtime):
            key, value = realtime_command(number)
            await producer.send(WRITES_REALTIME, value=value, key=key)
            await producer.flush()
            await asyncio.sleep(gap)  # a steady realtime trickle while the batch drains
        return {"started": started, "batch_produced": batch_produced, "done": time.time()}
    finally:
        await producer.stop()


def _latencies(sandbox: str, realtime: int, dump: Path | None = None) -> list[float]:
    """Seconds from producing each realtime write to Dotdigital storing it (the contact's `updated`)."""
    api = httpx.Client(base_url=sandbox, auth=(USER, PASSWORD), timeout=60)
    latencies: list[float] = []
    series: list[tuple[float, float]] = []
    marker: str | None = None
    while True:
        params: dict[str, Any] = {
            "~modified": "gte::2000-01-01T00:00:00Z",
            "limit": 5000,
            "include": "dataFields",
        }
        if marker:
            params["marker"] = marker
        page = api.get("/contacts/v3", params=params).json()
        for contact in page.get("_items", []):
            sent = contact.get("dataFields", {}).get("RT_SENT_AT")
            if sent is not None:
                stored = datetime.fromisoformat(contact["updated"].replace("Z", "+00:00"))
                latencies.append(stored.timestamp() - float(sent))
                series.append((float(sent), latencies[-1]))
        marker = (page.get("_links", {}).get("next") or {}).get("marker")
        if not marker or not page.get("_items"):
            break
    if dump is not None:
        dump.write_text(json.dumps(sorted(series)))
    if len(latencies) != realtime:
        print(f"warning: found {len(latencies)} of {realtime} realtime writes", file=sys.stderr)
    return sorted(latencies)


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
            subprocess.Popen(  # noqa: S603
                [*cli, "sandbox", "dotdigital", "--port", str(sandbox_port)],
                env=env,
                stdout=(logs / "dotdigital.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        wait_for(lambda: httpx.get(f"{sandbox}/_sandbox/stats").status_code == 200, "sandbox")
        budgets = {"low": args.low, "medium": args.medium, "high": 1000, "unlimited": None}
        httpx.post(f"{sandbox}/_sandbox/limits", json={"tier_budgets": budgets}).raise_for_status()
        asyncio.run(create_topics(broker.bootstrap, PARTITIONS))
        worker = subprocess.Popen(  # noqa: S603
            [*cli, "worker"],
            env=env,
            stdout=(logs / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        processes.append(worker)
        status = f"http://127.0.0.1:{web_port}/ops/status"
        wait_for(lambda: httpx.get(status).json().get("assigned"), "worker")

        timeline: list[dict[str, Any]] = []
        produced: dict[str, float] = {}

        async def produce_and_watch() -> None:
            producing = asyncio.create_task(
                _produce(broker.bootstrap, args.orders, args.realtime, args.realtime_spread)
            )
            deadline = time.monotonic() + args.timeout
            async with httpx.AsyncClient() as http:
                while time.monotonic() < deadline:
                    stats = (await http.get(f"{sandbox}/_sandbox/stats")).json()
                    orders = stats["collections"].get("Orders", 0)
                    timeline.append({"t": time.time(), "orders": orders, **stats})
                    if orders >= args.orders and producing.done():
                        contacts = stats["contacts"]
                        if contacts >= args.orders + args.realtime:
                            break
                    await asyncio.sleep(1)  # sampling the sandbox once a second
            produced.update(await producing)

        asyncio.run(produce_and_watch())
        peak_rss = peak_rss_mb(worker.pid)
        httpx.post(
            f"{sandbox}/_sandbox/limits",
            json={
                "tier_budgets": {"low": 100000, "medium": 100000, "high": 100000, "unlimited": None}
            },
        ).raise_for_status()
        latencies = _latencies(sandbox, args.realtime, logs / "realtime-latencies.json")
    finally:
        stop_all(processes)
        broker.stop()

    final = timeline[-1]
    first_landed = next(s["t"] for s in timeline if s["orders"] > 0)
    drained = next((s["t"] for s in timeline if s["orders"] >= args.orders), final["t"])
    minutes = (drained - produced["started"]) / 60
    rows = final["orders"] + (final["contacts"] - args.realtime)
    ceiling = args.low * args.records_per_call
    calls = sum(final["calls"].values())
    return {
        **report_header("sink"),
        "configuration": {
            "order_records": args.orders,
            "realtime_writes": args.realtime,
            "realtime_spread_seconds": args.realtime_spread,
            "low_calls_per_minute": args.low,
            "medium_calls_per_minute": args.medium,
            "records_per_call": args.records_per_call,
            "partitions": PARTITIONS,
        },
        "batch_lane": {
            "order_records_landed": final["orders"],
            "contact_rows_landed": final["contacts"] - args.realtime,
            "minutes_to_drain": round(minutes, 2),
            "seconds_to_first_record": round(first_landed - produced["started"], 1),
            "rows_landed_per_minute": round(rows / minutes),
            "order_records_per_minute": round(final["orders"] / minutes),
            "ceiling_rows_per_minute": ceiling,
            "share_of_ceiling": round(rows / minutes / ceiling, 3),
            # Dotdigital counts per fixed minute: a run that touches N windows may spend N budgets.
            "low_calls_per_minute_spent": round(final["calls"].get("low", 0) / minutes, 1),
        },
        "calls": {
            "by_tier": final["calls"],
            "total": calls,
            "answered_429": final["rate_limited"],
            "share_429": round(final["rate_limited"] / calls, 5) if calls else None,
        },
        "realtime_lane": {
            "measured": len(latencies),
            "p50_seconds": percentile(latencies, 0.50),
            "p99_seconds": percentile(latencies, 0.99),
            "max_seconds": round(latencies[-1], 3) if latencies else None,
            "sent_while_batch_draining": sum(
                1
                for i in range(args.realtime)
                if produced["batch_produced"] + i * args.realtime_spread / args.realtime < drained
            ),
        },
        "worker_peak_rss_mb": peak_rss,
        "targets": {
            "share_of_ceiling_at_least": 0.95,
            "share_429_below": 0.001,
            "realtime_p99_seconds_below": 2.0,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--realtime", type=int, default=5_000)
    parser.add_argument("--realtime-spread", type=float, default=120.0, help="seconds")
    parser.add_argument("--low", type=int, default=35, help="Low tier calls per minute")
    parser.add_argument("--medium", type=int, default=3000, help="Medium tier calls per minute")
    parser.add_argument("--records-per-call", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--out", default="bench/results/sink.json")
    parser.add_argument("--logs", default=".run/bench")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    report = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
