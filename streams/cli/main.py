"""The `cartwright` command: worker, embedded broker, sandboxes, topics and the local demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.cli import catalogue, exceptions, reconcile, replay, trace
from streams.runtime import preflight
from streams.settings import Settings

log = logging.getLogger("cartwright")


def interrupt(signum: int, frame: object) -> None:
    """SIGTERM treated like Ctrl-C, so the processes we start are stopped by the same cleanup."""
    raise KeyboardInterrupt


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # One line per HTTP request drowns what matters; our clients log their own calls.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _create_topics(settings: Settings) -> list[str]:
    """Every topic that is missing, created as the settings lay them out."""
    from streams.runtime.topics import create_topics

    kafka = settings.kafka
    return asyncio.run(
        create_topics(
            kafka.bootstrap,
            kafka.partitions,
            kafka.replication_factor,
            incident_retention_days=kafka.incident_retention_days,
        )
    )


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from faust import Worker

    from streams.app import create_app, product_attributes

    if args.web_port:
        settings.web.port = args.web_port
    preflight.check(settings, "worker")
    created = _create_topics(settings)
    if created:
        log.info("created topics: %s", ", ".join(created))
    # Read before the worker starts: a join that waited for them would hold its records.
    products = product_attributes(settings)
    asyncio.run(products.preload())
    worker = faust_worker(Worker, create_app(settings, products=products), settings.log_level)
    worker.execute_from_commandline()
    return 0


def faust_worker(worker_class: Any, app: Any, log_level: str) -> Any:
    """Faust's worker for `app`, without its terminal spinner: at WARNING and above Faust adds
    one and sets the root logger to DEBUG for it, so every debug call anywhere (aiokafka's
    fetcher logs each partition of each fetch round) built a record and spun the spinner,
    about a tenth of a busy worker's CPU."""
    worker = worker_class(app, loglevel=log_level, quiet=True)
    worker.spinner = None
    return worker


def _broker(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.broker import EmbeddedBroker

    broker = EmbeddedBroker(host=args.host, port=args.port)
    signal.signal(signal.SIGTERM, interrupt)  # stop Tansu on SIGTERM too, not only Ctrl-C
    with broker:
        print(f"embedded Kafka-protocol broker (Tansu) on {broker.bootstrap}", flush=True)
        try:
            return broker.wait()
        except KeyboardInterrupt:
            return 0


def _sandbox_dotdigital(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.dotdigital.account.config import SandboxConfig
    from sandbox.dotdigital.api.server import run

    config = SandboxConfig(
        username=settings.dotdigital.username,
        password=settings.dotdigital.password.get_secret_value(),
    )
    run(config, host=args.host, port=args.port)
    return 0


def _sandbox_commerce(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.commerce.api.config import CommerceSandboxConfig
    from sandbox.commerce.api.server import run

    config = CommerceSandboxConfig(
        client_id=settings.adobe.client_id,
        webhook_url=tuple(args.webhook) if args.webhook else None,
        seed=args.seed,
        orders=args.orders,
        orders_per_minute=args.orders_per_minute,
        ship_after_seconds=args.ship_after,
        time_scale=args.time_scale,
        retry_time_scale=args.retry_time_scale,
        run_traffic=False if args.no_traffic else None,
        history_orders=args.history_orders,
        storefront_url=args.storefront,
        start=datetime.now(UTC) if args.start_now else None,
    )
    run(config, host=args.host, port=args.port)
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    created = _create_topics(settings)
    print("created: " + (", ".join(created) if created else "nothing, all topics exist"))
    return 0


def _backfill(args: argparse.Namespace, settings: Settings) -> int:
    from streams.sources.backfill import run_backfill

    entities = [name.strip() for name in args.entities.split(",") if name.strip()]
    since = datetime.fromisoformat(args.since)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    preflight.check(settings, "backfill")
    _create_topics(settings)
    counts = asyncio.run(
        run_backfill(
            settings,
            since=since,
            entities=entities,
            checkpoint=Path(args.checkpoint),
            restart=args.restart,
        )
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("backfilled: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"peak RSS: {peak:.0f} MB")
    return 0


def _journal(args: argparse.Namespace, settings: Settings) -> int:
    from streams.sources.journal import pull_journal

    if args.url:
        settings.commerce.journal_url = args.url
    preflight.check(settings, "journal")
    _create_topics(settings)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        count = asyncio.run(
            pull_journal(
                settings,
                url=settings.commerce.journal_url,
                checkpoint=Path(args.checkpoint),
                once=args.once,
            )
        )
    except KeyboardInterrupt:
        return 0
    print(f"journal: {count} events published")
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from streams.cli.demo import run_demo

    return run_demo(settings, orders=args.orders, workers=args.workers)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="cartwright", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    worker = commands.add_parser("worker", help="run the Faust worker (webhook, agents, sink)")
    worker.add_argument("--web-port", type=int, default=None, help="override CARTWRIGHT_WEB__PORT")
    worker.set_defaults(handler=_worker)

    broker = commands.add_parser("broker", help="run the embedded Kafka-protocol broker")
    broker.add_argument("--host", default="127.0.0.1")
    broker.add_argument("--port", type=int, default=9092)
    broker.set_defaults(handler=_broker)

    sandbox = commands.add_parser("sandbox", help="run a local stand-in for an outside system")
    systems = sandbox.add_subparsers(dest="system", required=True)
    dotdigital = systems.add_parser("dotdigital", help="the Dotdigital API sandbox")
    dotdigital.add_argument("--host", default="127.0.0.1")
    dotdigital.add_argument("--port", type=int, default=8025)
    dotdigital.set_defaults(handler=_sandbox_dotdigital)
    commerce = systems.add_parser(
        "commerce", help="the Adobe Commerce sandbox: key host and signed store traffic"
    )
    commerce.add_argument("--host", default="127.0.0.1")
    commerce.add_argument("--port", type=int, default=8026)
    commerce.add_argument(
        "--webhook",
        action="append",
        default=None,
        help="where to deliver events; repeat it for several workers (round-robin)",
    )
    commerce.add_argument(
        "--storefront", default=None, help="where shoppers' browsers beacon storefront events"
    )
    commerce.add_argument("--seed", type=int, default=7)
    commerce.add_argument("--orders", type=int, default=50)
    commerce.add_argument("--orders-per-minute", type=float, default=30.0)
    commerce.add_argument("--ship-after", type=float, default=20.0, help="seconds")
    commerce.add_argument(
        "--time-scale", type=float, default=1.0, help="real seconds per simulated second"
    )
    commerce.add_argument(
        "--retry-time-scale", type=float, default=1.0 / 60.0, help="scale of Adobe's retry delays"
    )
    commerce.add_argument(
        "--no-traffic", action="store_true", help="serve only (start traffic via the admin API)"
    )
    commerce.add_argument(
        "--history-orders", type=int, default=0, help="back-dated orders for backfills"
    )
    commerce.add_argument(
        "--start-now",
        action="store_true",
        help="store time starts at the real time (else at the seed's fixed start)",
    )
    commerce.set_defaults(handler=_sandbox_commerce)

    backfill = commands.add_parser("backfill", help="read history through REST onto the raw topic")
    backfill.add_argument("--since", required=True, help="ISO date or date-time (UTC if no zone)")
    backfill.add_argument(
        "--entities",
        default="orders,shipments,creditmemos,customers,products",
        help="comma-separated: orders, shipments, creditmemos, customers, products",
    )
    backfill.add_argument("--checkpoint", default=".cartwright/backfill.json")
    backfill.add_argument("--restart", action="store_true", help="ignore the checkpoint")
    backfill.set_defaults(handler=_backfill)

    ingest = commands.add_parser("ingest", help="pull events instead of receiving them")
    sources = ingest.add_subparsers(dest="source", required=True)
    journal = sources.add_parser("journal", help="consume the Adobe I/O Events journal")
    journal.add_argument("--url", default=None, help="default CARTWRIGHT_COMMERCE__JOURNAL_URL")
    journal.add_argument("--checkpoint", default=".cartwright/journal.json")
    journal.add_argument("--once", action="store_true", help="stop when the journal is drained")
    journal.set_defaults(handler=_journal)

    replay.add_parser(commands)
    exceptions.add_parser(commands)
    trace.add_parser(commands)
    catalogue.add_parser(commands)
    reconcile.add_parser(commands)

    topics = commands.add_parser("topics", help="create every topic with its partitions")
    topics.set_defaults(handler=_topics)

    demo = commands.add_parser("demo", help="broker, sandboxes, worker and traffic (make run)")
    demo.add_argument("--orders", type=int, default=60)
    demo.add_argument(
        "--workers",
        type=int,
        default=1,
        help="workers on one group, each on its own web port from CARTWRIGHT_WEB__PORT up",
    )
    demo.set_defaults(handler=_demo)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    _configure_logging(settings.log_level)
    try:
        code: int = args.handler(args, settings)
    except preflight.RefusedSettings as refused:
        print(f"cartwright {args.command}: refusing to start:", file=sys.stderr)
        for reason in refused.reasons:
            print(f"  - {reason}", file=sys.stderr)
        return 2
    return code
