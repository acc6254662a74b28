"""The Faust app as Cartwright runs it: the Kafka transport with the fetch wait made a setting
(Tansu answers a waiting fetch only when the wait is up, not when data arrives, so Faust's fixed
1.5 s wait would delay realtime), table recovery to each changelog's true end, and none of Faust's
own web views; and agents' batches acknowledged only once they are done."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.web.base import BlueprintManager
from mode.utils.aiter import aiter
from mode.utils.futures import notify

from streams.runtime.catch_up import true_ends

# Finding the true ends must finish inside the wait Faust's recovery gives it
# (`broker_request_timeout`), so that a slow broker fails here, with our message, not there.
TRUE_ENDS_SHARE_OF_REQUEST_TIMEOUT = 0.8

# Faust's own web views, every one off; this and `CartwrightApp._new_web` are the one place.
# `/router/` shows the cluster's topology, `/table/` reads table data (contacts, consent), `/`
# with `/assignment/` and `/graph/` show internal state, `/performance/` metrics. The worker
# serves only the webhook and `/ops/` (README, "Security"); the tables are never routed between
# workers over HTTP (no `table_route`), which is all `/router/` is for.
FAUST_WEB_VIEWS_OFF: dict[str, bool] = {
    "web_router_enabled": False,
    "web_tables_enabled": False,
    "web_stats_enabled": False,
    "web_graph_enabled": False,
    "web_metrics_enabled": False,
}


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher.
        app: Any = self.app
        consumer._fetch_max_wait_ms = app.fetch_max_wait_ms
        return consumer

    async def _highwaters(self, partitions: list[Any]) -> Mapping[Any, int]:
        """The seam of table recovery: Faust's recovery asks here where each changelog partition
        ends (`Recovery._build_highwaters`, the only end it decides completeness with). Stock
        Faust asks ListOffsets-latest, which the embedded broker answers one batch short, so a
        restarted worker stopped recovering a batch early and a worker keeping a partition across
        a rebalance died in `ConsistencyError`. Unless `trust_end_offsets`, a short-lived consumer
        of its own (same bootstrap; Cartwright sets no broker credentials) reads each partition
        from its last batch to its end, and logs the ends it corrects. The group consumer's fetch
        high watermark (`highwater(tp)`) feeds only Faust's monitor and slow-processing logs,
        never recovery's completeness."""
        app: Any = self.app
        if app.trust_end_offsets or self.consumer.in_transaction:
            return await super()._highwaters(partitions)
        transport: Any = self.transport
        return await true_ends(
            ",".join(faust_aiokafka.server_list(transport.url, transport.default_port)),
            partitions,
            fetch_max_wait_ms=app.fetch_max_wait_ms,
            give_up_after=app.conf.broker_request_timeout * TRUE_ENDS_SHARE_OF_REQUEST_TIMEOUT,
        )


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class CartwrightApp(faust.App):
    """A Faust app whose consumer waits at most `fetch_max_wait_ms` for a fetch, whose table
    recovery reads each changelog to its true end unless `trust_end_offsets` (Apache Kafka), and
    whose web server has only the views Cartwright registers."""

    def __init__(
        self,
        *args: Any,
        fetch_max_wait_ms: int = 100,
        trust_end_offsets: bool = False,
        **kwargs: Any,
    ) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.trust_end_offsets = trust_end_offsets
        super().__init__(*args, **{**kwargs, **FAUST_WEB_VIEWS_OFF})

    def _new_web(self) -> Any:
        web = super()._new_web()
        # With its statistics off Faust mounts a "production index" at `/`, which no setting
        # turns off: start from no Faust blueprint at all.
        web.blueprints = BlueprintManager()
        return web

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)


def finished_batches(stream: Any, most: int, within: float) -> AsyncGenerator[list[Any], None]:
    """The stream's events, up to `most` at a time or what came within `within` seconds, as
    Faust's `Stream.take_events` gives them, with one difference: a batch's events are
    acknowledged (and so may be committed) only once the agent asks for the next batch.
    Faust's own acknowledges them in a `finally`, so also when the agent failed or was
    cancelled mid-batch, and a stopping worker then commits the offsets of records it never
    finished (Faust commits what is acknowledged as it stops): up to a whole batch lost. Here
    an unfinished batch stays unacknowledged, and comes again after the restart."""
    batches = _batches(stream, most, within)
    stream._active_agens.add(batches)  # Stream.on_stop closes it, as it does take_events'
    return batches


async def _batches(stream: Any, most: int, within: float) -> AsyncGenerator[list[Any], None]:
    # Faust 0.15.3's Stream.take_events, but for where the events are acknowledged.
    buffer: list[Any] = []
    events: list[Any] = []
    buffer_full = asyncio.Event()
    buffer_consumed = asyncio.Event()
    buffer_consuming: asyncio.Future[Any] | None = None
    acks_were_enabled: bool = stream.enable_acks
    channel_it = aiter(stream.channel)

    async def add_to_buffer(value: Any) -> Any:
        # Runs in the stream's passive drainer, once per event, before the agent sees it.
        nonlocal buffer_consuming
        try:
            if buffer_consuming is not None:
                try:
                    await buffer_consuming
                finally:
                    buffer_consuming = None
            buffer.append(value)
            event = stream.current_event
            if event is None:
                raise RuntimeError("a batched event without its stream's current event")
            events.append(event)
            if len(buffer) >= most:
                buffer_full.set()
                buffer_consumed.clear()
                await stream.wait(buffer_consumed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Faust's own handling: the stream crashes, loudly
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        return value

    stream.enable_acks = False
    stream.add_processor(add_to_buffer)
    stream._enable_passive(channel_it)
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(buffer_full, timeout=within)
            if not buffer:
                continue
            buffer_consuming = stream.loop.create_future()
            finished = False
            try:
                yield list(events)
                finished = True  # the agent asked for the next batch: this one is done
            finally:
                buffer.clear()
                if finished:
                    for event in events:
                        await stream.ack(event)
                events.clear()
                notify(buffer_consuming)
                buffer_full.clear()
                buffer_consumed.set()
    finally:
        stream.enable_acks = acks_were_enabled
        stream._processors.remove(add_to_buffer)
