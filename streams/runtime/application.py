"""The Faust app as Cartwright runs it: the Kafka transport with the fetch wait made a setting
(Tansu answers a waiting fetch only when the wait is up, not when data arrives, so Faust's fixed
1.5 s wait would delay realtime), and none of Faust's own web views."""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.web.base import BlueprintManager

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


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class CartwrightApp(faust.App):
    """A Faust app whose consumer waits at most `fetch_max_wait_ms` for a fetch, and whose web
    server has only the views Cartwright registers."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int = 100, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(*args, **{**kwargs, **FAUST_WEB_VIEWS_OFF})

    def _new_web(self) -> Any:
        web = super()._new_web()
        # With its statistics off Faust mounts a "production index" at `/`, which no setting
        # turns off: start from no Faust blueprint at all.
        web.blueprints = BlueprintManager()
        return web

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
