"""Building the Faust app from Settings: topics, tables, agents and web views, wired, not started."""

from __future__ import annotations

import time
from datetime import timedelta
from fractions import Fraction
from functools import partial
from typing import Any

from connectors.adobe_io.signature import PublicKeyCache
from connectors.commerce.client import CommerceClient
from schemas.catalogue.sync_summary import LAST_SYNC, CatalogueSynced
from schemas.contract.topics import WRITES, WRITES_REALTIME
from streams.ops import warning_watch
from streams.ops.endpoints import register_ops
from streams.ops.exception_book import LatestExceptions
from streams.ops.reconciliation import schedule as reconcile_schedule
from streams.ops.reconciliation.report import DriftDay
from streams.ops.status_page import StatusSources
from streams.ops.trace_search import Tracer
from streams.ops.warning_watch import Sensors, WarningWatch, thresholds
from streams.process import browse, cart_ticker, carts, join, normalize, storefront
from streams.process.carts import CartRules
from streams.process.product_attributes import ProductAttributes
from streams.runtime.application import CartwrightApp
from streams.runtime.clients import DotdigitalClients, account_budgets, commerce_client
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.producer import LINGER_MS, MAX_BATCH_BYTES
from streams.runtime.retrying import Waiting
from streams.runtime.topics import faust_topics
from streams.settings import Settings
from streams.sinks.commerce import write_back
from streams.sinks.dotdigital import budget, lanes
from streams.sinks.dotdigital.lanes import LaneSettings
from streams.sinks.enrolment_ledger import EnrolmentLedger, ledger_journal
from streams.sinks.import_journal import ImportJournal, import_journal
from streams.sources import suppression_feed
from streams.sources.catalogue import schedule as catalogue_schedule
from streams.sources.cursors import KafkaCursors
from streams.sources.raw_publisher import RawPublisher
from streams.sources.seeding import Seeding, follow_stored_ids, stored_tail
from streams.sources.storefront import collector
from streams.sources.webhook import PATH, Ingest, server_options, webhook_view


def faust_options(settings: Settings) -> dict[str, Any]:
    """The Faust settings that the embedded broker needs (see shared/specs/embedded-broker.md)."""
    return {
        "broker": f"kafka://{settings.kafka.bootstrap}",
        # The tables' store (TABLES__STORE): `memory://`, or `rocksdb://` with one database per
        # table and partition under `datadir` (Faust keeps its tables in `<datadir>/v1/tables`).
        "store": f"{settings.tables.store}://",
        "datadir": settings.tables.data_dir,
        "table_standby_replicas": settings.tables.standby_replicas,
        "topic_partitions": settings.kafka.partitions,
        "topic_replication_factor": settings.kafka.replication_factor,
        "broker_session_timeout": 6.0,
        "broker_heartbeat_interval": 1.5,
        "broker_rebalance_timeout": 6.0,
        "consumer_auto_offset_reset": "earliest",
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        "producer_linger_ms": LINGER_MS,
        "producer_max_batch_size": MAX_BATCH_BYTES,
        # Faust pauses a partition once its stream buffer passes 80 % full, but what polls
        # already brought is still delivered, and a full buffer blocks delivery to every agent.
        # Small polls and a large buffer keep that overshoot (at most one poll per partition)
        # inside the last 20 %, so a backed-up batch lane never holds up the realtime lane.
        "broker_max_poll_records": 100,
        "stream_buffer_maxsize": 16384,
        # `web_bind` is the address the server listens on (Faust's default: every interface);
        # `web_host` only names the worker in its canonical URL.
        "web_bind": settings.web.host,
        "web_host": settings.web.host,
        "web_port": settings.web.port,
        "web_application_options": server_options(settings.webhook),
        "web_in_thread": False,
        "table_cleanup_interval": 30.0,
    }


def cart_rules(settings: Settings) -> CartRules:
    """What the carts agent works by, from the settings."""
    return CartRules(
        abandon_after=timedelta(seconds=settings.carts.abandon_after),
        reenrol_after=timedelta(seconds=settings.carts.reenrol_after),
        store_url=settings.carts.store_url,
        program_id=settings.programs.abandoned_cart,
        stale_after=timedelta(seconds=settings.carts.stale_after),
    )


def product_attributes(settings: Settings) -> ProductAttributes:
    """Every worker's copy of the products topic (see `streams.process.product_attributes`)."""
    return ProductAttributes.on_topic(
        settings.kafka.bootstrap, fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms
    )


def create_app(settings: Settings, *, products: ProductAttributes | None = None) -> Any:
    """The Cartwright worker app; importing or building it connects to nothing. `products`:
    the products topic already read (`ProductAttributes.preload`), else read once it runs."""
    app = CartwrightApp(
        settings.kafka.app_id,
        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        trust_end_offsets=settings.kafka.trust_end_offsets,
        **faust_options(settings),
    )
    metrics = Metrics(baseline_hours=settings.warnings.baseline_hours)
    waiting = Waiting()
    topics = faust_topics(app, settings.kafka.partitions)
    incidents = Incidents(topics.deadletter, topics.exceptions, metrics)
    partitions = settings.kafka.partitions
    normalize.register(
        app,
        topics,
        incidents,
        partitions,
        metrics,
        index_block_size=settings.replay.index_block_size,
    )
    # --- Orders lines' product attributes: every worker's copy of the products topic ---
    products = products or product_attributes(settings)
    app.task(products.run)
    _, joiner = join.register(
        app,
        topics,
        incidents,
        partitions,
        settings.orders.collection,
        refunds_collection=settings.orders.refunds_collection,
        programs=settings.programs.by_trigger(),
        products=products,
        write_back=settings.consent.write_back,
        data_fields=settings.dotdigital.data_fields,
        metrics=metrics,
    )
    # --- abandoned carts: a table of timers per email, fired by ticks in event time ---
    carts.register(
        app,
        topics,
        incidents,
        partitions,
        metrics,
        cart_rules(settings),
        route=joiner.route,
        moved_to=joiner.book.moved_to,
    )
    cart_ticker.register(app, topics.ticks, metrics, settings.carts.tick_interval)
    # --- storefront: browser events resolved to a contact Commerce confirms, browse rules ---
    storefront.register(app, topics, incidents, partitions, metrics, settings.storefront)
    browse.register(
        app,
        topics,
        incidents,
        partitions,
        metrics,
        joiner,
        settings.browse,
        program=settings.programs.browse_abandoned,
        skew=settings.storefront.timestamp_skew,
    )
    sink = settings.sink
    # --- the Dotdigital budget: the lanes spend this worker's share, the leader's feed a reserve ---
    account, reserve = account_budgets(settings), settings.dotdigital.feed_reserve_per_minute
    dotdigital = DotdigitalClients(
        settings,
        lanes=budget.lane_budgets(account, Fraction(1), feed_reserve=reserve),
        feed=budget.feed_budgets(account, feed_reserve=reserve),
    )
    share = budget.register(
        app,
        dotdigital.limiter,
        account,
        {WRITES: settings.kafka.partitions, WRITES_REALTIME: settings.kafka.partitions},
        feed_reserve=reserve,
    )
    lanes.register(
        app,
        topics,
        incidents,
        metrics,
        dotdigital,
        batch=LaneSettings(
            name="batch",
            topic_name=WRITES,
            take=settings.orders.batch_size,
            within=settings.orders.batch_interval,
            in_flight=sink.batches_in_flight,
        ),
        realtime=LaneSettings(
            name="realtime",
            topic_name=WRITES_REALTIME,
            take=sink.realtime_take,
            within=sink.realtime_within,
            in_flight=sink.realtime_in_flight,
        ),
        poll_interval=sink.import_poll_interval,
        consent_of=joiner.consent_of,
        ledger=EnrolmentLedger(ledger_journal(settings.kafka.bootstrap, topics.enrolments)),
        imports=lambda: ImportJournal(import_journal(settings.kafka.bootstrap, topics.imports)),
        waiting=waiting,
    )
    suppression_feed.register(app, topics, settings, incidents, metrics, dotdigital.feed)

    async def commerce() -> CommerceClient:
        return commerce_client(settings.commerce)

    # --- reconciliation: the leader compares Commerce with Dotdigital on a schedule (0: off) ---
    reconciler = reconcile_schedule.Schedule(
        settings, incidents, dotdigital, partial(commerce_client, settings.commerce)
    )
    reconcile_schedule.register(app, reconciler, settings.reconcile.interval)
    # --- the catalogue: the leader sends what Commerce changed, every CATALOGUE__INTERVAL ---
    catalogue_schedule.register(app, settings, dotdigital=partial(dotdigital, background=True))
    write_back.register(
        app, topics.commerce_writes, incidents, metrics, commerce, consent_of=joiner.consent_of
    )
    keys = (
        PublicKeyCache(settings.adobe.public_key_host, ttl=settings.adobe.key_cache_seconds)
        if settings.adobe.verify_signatures
        else None
    )
    # --- webhook ingress: de-duplication seeded from the raw topic at start, then following it
    # (ids stored by any worker), bounded intake ---
    publisher = RawPublisher(topics.raw, incidents, metrics)
    seeding = Seeding(
        partial(
            stored_tail,
            settings.kafka.bootstrap,
            publisher.seen.capacity,
            fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        ),
        publisher.already_stored,
        metrics,
        follow=partial(
            follow_stored_ids,
            settings.kafka.bootstrap,
            publisher.seen.add,
            metrics,
            fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        ),
        wait=settings.webhook.seed_wait,
    )
    app.task(seeding.run)
    ingest = Ingest(
        publisher=publisher,
        keys=keys,
        client_id=settings.adobe.client_id,
        metrics=metrics,
        bounds=settings.webhook,
        seeding=seeding,
    )
    app.page(PATH)(webhook_view(ingest))
    # --- end webhook ingress ---
    storefront_collector = collector.Collector(topics.storefront_raw, metrics, settings.storefront)
    app.page(collector.PATH)(collector.collector_view(storefront_collector))
    # --- the status page: exceptions and traces read from the topics (any worker), drift from
    # the leader's latest reconciliation ---
    tracer = Tracer(
        settings.kafka.bootstrap,
        settings.kafka.partitions,
        partial(commerce_client, settings.commerce),
        partial(dotdigital, background=True),
    )

    async def drift() -> list[DriftDay]:
        return list(reconciler.latest.days) if reconciler.latest else []

    # The last catalogue sync, whoever ran it, as it left its summary on the cursors topic.
    summaries = KafkaCursors(
        settings.kafka.bootstrap, fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms
    )

    async def catalogue() -> CatalogueSynced | None:
        document = await summaries.load(LAST_SYNC)
        return CatalogueSynced.model_validate(document) if document is not None else None

    # --- early warnings: every worker evaluates what it saw, each interval ---
    sensors = Sensors(metrics, waiting, app, clock=time.time, monotonic=time.monotonic)
    watch = WarningWatch(sensors.read, thresholds(settings.warnings), incidents, metrics)
    warning_watch.register(app, watch, settings.warnings.interval)
    sources = StatusSources(
        exceptions=LatestExceptions(settings.kafka.bootstrap),
        warnings=watch.active,
        drift=drift,
        trace=tracer,
        catalogue=catalogue,
    )
    register_ops(app, settings, metrics, budget=share.status, sources=sources)
    return app
