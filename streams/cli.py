"""The `cartwright` command: worker, embedded broker, sandboxes, topics and the local demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from streams.settings import Settings
from streams.signals import interrupt

log = logging.getLogger("cartwright")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # One line per HTTP request drowns what matters; our clients log their own calls.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from faust import Worker

    from streams.app import create_app
    from streams.topics import create_topics

    if args.web_port:
        settings.web.port = args.web_port
    created = asyncio.run(
        create_topics(
            settings.kafka.bootstrap, settings.kafka.partitions, settings.kafka.replication_factor
        )
    )
    if created:
        log.info("created topics: %s", ", ".join(created))
    app = create_app(settings)
    worker = Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()
    return 0


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
    from sandbox.dotdigital import SandboxConfig, run

    config = SandboxConfig(
        username=settings.dotdigital.username,
        password=settings.dotdigital.password.get_secret_value(),
    )
    run(config, host=args.host, port=args.port)
    return 0


def _sandbox_commerce(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.commerce.server import CommerceSandboxConfig, run

    config = CommerceSandboxConfig(
        client_id=settings.adobe.client_id,
        webhook_url=args.webhook,
        seed=args.seed,
        orders=args.orders,
        orders_per_minute=args.orders_per_minute,
        ship_after_seconds=args.ship_after,
        time_scale=args.time_scale,
        retry_time_scale=args.retry_time_scale,
        run_traffic=False if args.no_traffic else None,
        history_orders=args.history_orders,
    )
    run(config, host=args.host, port=args.port)
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from streams.topics import create_topics

    created = asyncio.run(
        create_topics(
            settings.kafka.bootstrap, settings.kafka.partitions, settings.kafka.replication_factor
        )
    )
    print("created: " + (", ".join(created) if created else "nothing, all topics exist"))
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from streams.demo import run_demo

    return run_demo(settings, orders=args.orders)


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
    commerce.add_argument("--webhook", default=None, help="where to deliver events")
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
    commerce.set_defaults(handler=_sandbox_commerce)

    topics = commands.add_parser("topics", help="create every topic with its partitions")
    topics.set_defaults(handler=_topics)

    demo = commands.add_parser("demo", help="broker, sandboxes, worker and traffic (make run)")
    demo.add_argument("--orders", type=int, default=60)
    demo.set_defaults(handler=_demo)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    _configure_logging(settings.log_level)
    code: int = args.handler(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
