"""The live Commerce sandbox behind one server: store, outbox, journals, faults, REST auth."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from aiohttp import web

from sandbox.commerce.adobe_io.delivery import Deliverer
from sandbox.commerce.adobe_io.faults import DeliveryFaults, FaultDice
from sandbox.commerce.adobe_io.journal import Journal
from sandbox.commerce.adobe_io.outbox import Outbox
from sandbox.commerce.adobe_io.signing import Signer
from sandbox.commerce.api.auth import RestAuth
from sandbox.commerce.api.config import CommerceSandboxConfig
from sandbox.commerce.simulator.clock import SimulatedClock
from sandbox.commerce.simulator.store import Store
from sandbox.commerce.simulator.traffic import StoreTraffic


class CommerceSandbox:
    """Everything one running sandbox holds; REST writes and traffic share the one store."""

    def __init__(
        self,
        config: CommerceSandboxConfig,
        signer: Signer,
        *,
        store: Store | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.signer = signer
        self.store = store or Store(
            seed=config.seed,
            clock=SimulatedClock(config.start) if config.start else None,
            client_id=config.client_id,
            keep_events=False,
        )
        if config.history_orders:
            self.play_history(config.history_orders)
        self.dice = FaultDice(config.seed)
        self.journal = Journal(config.journal_retention)
        self.storefront = Journal(config.journal_retention)
        self.deliverer = (
            Deliverer(
                config.webhook_url, signer, time_scale=config.retry_time_scale,
                transport=transport, sleep=sleep,
            )
            if config.webhook_url
            else None
        )  # fmt: skip
        self.outbox = Outbox(
            dice=self.dice, journal=self.journal, storefront=self.storefront,
            deliverer=self.deliverer, storefront_url=config.storefront_url,
            time_scale=config.time_scale, clock=clock, sleep=sleep,
        )  # fmt: skip
        self.store.listen(self.outbox.publish)
        self.store.listen(self.outbox.observe, behaviour=True)
        self.auth = RestAuth(config.credentials)
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self._store_started = self.store.clock.now()

    def play_history(self, orders: int) -> None:
        """Store history from before anyone listened: traffic played at once, nothing published."""
        traffic = StoreTraffic(
            self.store, seed=self.config.seed + 1, orders_per_minute=self.config.orders_per_minute,
            ship_after_seconds=self.config.ship_after_seconds,
        )  # fmt: skip
        listeners = self.store.pause_listeners()
        try:
            for _ in traffic.run(orders):
                pass
        finally:
            self.store.resume_listeners(listeners)

    def catch_up(self) -> None:
        """Bring store time level with the real time elapsed (scaled), before a REST write."""
        elapsed = (self._clock() - self._started) / self.config.time_scale
        self.store.clock.advance_to(self._store_started + timedelta(seconds=elapsed))

    async def send_traffic(self, orders: int) -> None:
        """Live traffic: each action at its simulated time, waited for in scaled real time."""
        traffic = StoreTraffic(
            self.store, seed=self.config.seed, orders_per_minute=self.config.orders_per_minute,
            ship_after_seconds=self.config.ship_after_seconds,
        )  # fmt: skip
        began = self._clock()
        for at in traffic.run(orders):
            wait = began + at * self.config.time_scale - self._clock()
            if wait > 0:
                await self._sleep(wait)

    def reset(self) -> None:
        """Faults off, delivery bookkeeping forgotten, undelivered events discarded."""
        self.dice.configure(DeliveryFaults())
        self.outbox.clear()
        if self.deliverer is not None:
            self.deliverer.reset()

    def status(self) -> dict[str, Any]:
        stats = self.deliverer.stats if self.deliverer else None
        counts = self.outbox.counts
        return {
            "delivered": stats.delivered if stats else 0,
            "retried": stats.retried if stats else 0,
            "dropped": stats.dropped if stats else 0,
            "statuses": {str(k): v for k, v in (stats.statuses if stats else {}).items()},
            "events": self.store.emitted,
            "created": counts.created,
            "not_created": counts.not_created,
            "duplicates": counts.duplicates,
            "republished": counts.republished,
            "storefront": counts.observed,
            "pending": self.outbox.pending,
            "journal": len(self.journal),
            "store_time": self.store.clock.now().isoformat(),
        }


STATE: web.AppKey[CommerceSandbox] = web.AppKey("commerce", CommerceSandbox)
