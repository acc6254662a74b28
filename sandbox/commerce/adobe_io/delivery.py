"""Delivery like Adobe I/O Events: signed POSTs, retried on 429 and 5xx on Adobe's schedule."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import orjson

from sandbox.commerce.adobe_io.signing import Signer
from sandbox.commerce.simulator.events import PROVIDER
from sandbox.commerce.simulator.storefront import STORE_URL

log = logging.getLogger(__name__)

# Adobe retries after 1, 2, 4 and 8 minutes, then every 15 minutes for up to 24 hours.
# What a shopper's browser sends with a `navigator.sendBeacon` from the store's pages.
BEACON_HEADERS = {
    "Origin": STORE_URL,
    "Content-Type": "text/plain;charset=UTF-8",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36",
}
RETRY_SCHEDULE = (60.0, 120.0, 240.0, 480.0) + (900.0,) * 94
Outcome = Literal["pending", "delivered", "dropped"]
Payload = dict[str, Any] | list[dict[str, Any]]


def retried(status: int) -> bool:
    """Adobe retries only 429 and 5xx other than 505; any other status drops the event."""
    return status == 429 or (500 <= status <= 599 and status != 505)


@dataclass
class DeliveryStats:
    delivered: int = 0
    retried: int = 0
    dropped: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


@dataclass
class Fate:
    """What became of one event id: every delivery of it (duplicates share the id)."""

    eventid: str
    type: str
    deliveries: int = 0
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)
    outcome: Outcome = "pending"

    def as_json(self) -> dict[str, Any]:
        return {
            "eventid": self.eventid,
            "type": self.type,
            "deliveries": self.deliveries,
            "attempts": self.attempts,
            "statuses": self.statuses,
            "outcome": self.outcome,
        }


def _events(payload: Payload) -> list[dict[str, Any]]:
    return payload if isinstance(payload, list) else [payload]


class Deliverer:
    """Posts CloudEvents (one, or a batch as a JSON array) to a webhook, signing each body.

    Given several webhooks (the workers behind a load balancer), each POST goes to the next in
    turn, round-robin; a retry may land on another worker, as it would behind a balancer.
    """

    def __init__(
        self,
        webhook_url: str | Sequence[str],
        signer: Signer,
        *,
        time_scale: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        urls = [webhook_url] if isinstance(webhook_url, str) else list(webhook_url)
        if not urls:
            raise ValueError("a Deliverer needs at least one webhook")
        self._urls = itertools.cycle(urls)
        self._signer = signer
        self._scale = time_scale
        self._sleep = sleep
        self._http = httpx.AsyncClient(transport=transport, timeout=10.0)
        self.stats = DeliveryStats()
        self.fates: dict[str, Fate] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    def reset(self) -> None:
        self.stats = DeliveryStats()
        self.fates = {}

    def _fates(self, payload: Payload) -> list[Fate]:
        fates = []
        for event in _events(payload):
            eventid = str(event.get("eventid", ""))
            fate = self.fates.setdefault(eventid, Fate(eventid, str(event.get("type", ""))))
            fates.append(fate)
        return fates

    async def post(self, payload: Payload, *, forged: bool = False, retry_count: int = 0) -> int:
        """One attempt: sign and POST; returns the HTTP status (0 when the webhook is unreachable)."""
        body = orjson.dumps(payload)
        first = _events(payload)[0]
        headers = self._signer.headers(body, str(first.get("eventid", "")), forged=forged)
        headers["x-adobe-event-code"] = str(first.get("type", ""))
        headers["x-adobe-delivery-id"] = str(uuid.uuid4())
        headers["x-adobe-provider"] = PROVIDER
        if retry_count:
            headers["x-adobe-retry-count"] = str(retry_count)
        try:
            response = await self._http.post(next(self._urls), content=body, headers=headers)
        except httpx.TransportError:
            return 0
        status = response.status_code
        self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
        return status

    async def deliver(self, payload: Payload) -> bool:
        """Deliver with Adobe's retries; True once a 2xx arrived, False when Adobe would give up."""
        fates = self._fates(payload)
        for fate in fates:
            fate.deliveries += 1
        status = 0
        for attempt, delay in enumerate((0.0, *RETRY_SCHEDULE)):
            if delay:
                self.stats.retried += 1
                await self._sleep(delay * self._scale)
            status = await self.post(payload, retry_count=attempt)
            for fate in fates:
                fate.attempts += 1
                fate.statuses.append(status)
            if 200 <= status < 300:
                self.stats.delivered += 1
                for fate in fates:
                    fate.outcome = "delivered"
                return True
            if status and not retried(status):
                break
        self.stats.dropped += 1
        for fate in fates:
            fate.outcome = "delivered" if fate.outcome == "delivered" else "dropped"
        log.warning("delivery dropped", extra={"status": status, "events": len(fates)})
        return False

    async def beacon(self, url: str, event: dict[str, Any]) -> int:
        """A storefront event as the browser sends it: one unsigned POST, never retried."""
        try:
            response = await self._http.post(
                url, content=orjson.dumps(event), headers=BEACON_HEADERS
            )
        except httpx.TransportError:
            return 0
        return response.status_code
