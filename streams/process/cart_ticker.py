"""The cart ticker: every worker ticks each partition of `cartwright.ticks.v1` it holds, so the
carts agent (which alone may write the carts table) fires that partition's due carts."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError

from schemas.contract.topics import TICKS
from schemas.rules.ticks import Tick, seconds_to_next_tick
from streams.runtime.metrics import Metrics

log = logging.getLogger(__name__)


class Ticker:
    """One round of ticks: one per held partition, stamped with the clock when sent."""

    def __init__(
        self,
        held: Callable[[], list[int]],
        topic: Any,
        metrics: Metrics,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        worker: str = "",
    ) -> None:
        self._held = held
        self._topic = topic
        self._metrics = metrics
        self._now = now
        self._worker = worker

    async def round(self) -> int:
        """Send this round's ticks; how many were sent."""
        partitions = self._held()
        for partition in partitions:
            tick = Tick(partition=partition, clock=self._now(), worker=self._worker)
            await self._topic.send(value=tick.model_dump_json().encode(), partition=partition)
        self._metrics.add("carts.ticks", len(partitions))
        return len(partitions)


def held_partitions(app: Any) -> Callable[[], list[int]]:
    """The partitions of the ticks topic this worker's consumer holds now."""

    def held() -> list[int]:
        actives = app.assignor.assigned_actives()
        return sorted(tp.partition for tp in actives if tp.topic == TICKS)

    return held


def register(app: Any, topic: Any, metrics: Metrics, interval: float) -> Ticker:
    """Tick every `interval` seconds on every worker (not only the leader), just after each
    whole multiple of `interval` on the wall clock (see `seconds_to_next_tick`)."""
    ticker = Ticker(held_partitions(app), topic, metrics, worker=socket.gethostname())

    @app.task
    async def cart_ticker() -> None:
        while not app.should_stop:
            # The one sleep of the ticker (Faust's own timers sleep alike), never one per cart;
            # `app.sleep` returns early when the worker stops.
            await app.sleep(seconds_to_next_tick(datetime.now(UTC), interval))
            if app.should_stop:
                break
            try:
                await ticker.round()
            except KafkaError:
                # The broker briefly away or a rebalance under way is retriable: the next round
                # ticks again, and a cart due meanwhile fires then, later but once. Anything
                # else is a fault of ours and stops the worker.
                metrics.add("carts.tick_failures")
                log.warning("cart ticks not sent this round", exc_info=True)

    return ticker
