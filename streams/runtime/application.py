"""The Faust app as Cartwright runs it: the Kafka transport with the fetch wait made a setting
(Tansu answers a waiting fetch only when the wait is up, not when data arrives, so Faust's fixed
1.5 s wait would delay realtime), table recovery to each changelog's true end, and none of Faust's
own web views."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.web.base import BlueprintManager

from streams.runtime.catch_up import true_ends

log = logging.getLogger(__name__)

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
        of its own reads each partition from there to where a fetch returns nothing."""
        app: Any = self.app
        if app.trust_end_offsets or self.consumer.in_transaction:
            return await super()._highwaters(partitions)
        reported = await self._ensure_consumer().end_offsets(partitions)
        transport: Any = self.transport
        ends = await true_ends(
            ",".join(faust_aiokafka.server_list(transport.url, transport.default_port)),
            partitions,
            hints={tp: max(end - 1, 0) for tp, end in reported.items()},
            fetch_max_wait_ms=app.fetch_max_wait_ms,
            give_up_after=app.conf.broker_request_timeout * TRUE_ENDS_SHARE_OF_REQUEST_TIMEOUT,
        )
        short = {tp: (reported[tp], end) for tp, end in ends.items() if reported.get(tp) != end}
        if short:
            log.info(
                "changelog ends: the broker reported %s, read to %s",
                {f"{tp.topic}[{tp.partition}]": was for tp, (was, _) in short.items()},
                {f"{tp.topic}[{tp.partition}]": end for tp, (_, end) in short.items()},
            )
        return ends


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
