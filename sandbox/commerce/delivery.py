"""Delivery like Adobe I/O Events: signed POSTs, retried on 429 and 5xx on Adobe's schedule."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from sandbox.commerce.signing import Signer

log = logging.getLogger(__name__)

# Adobe retries after 1, 2, 4 and 8 minutes, then every 15 minutes for up to 24 hours.
RETRY_SCHEDULE = (60.0, 120.0, 240.0, 480.0) + (900.0,) * 94


def retried(status: int) -> bool:
    """Adobe retries only 429 and 5xx other than 505; any other status drops the event."""
    return status == 429 or (500 <= status <= 599 and status != 505)


@dataclass
class DeliveryStats:
    delivered: int = 0
    retried: int = 0
    dropped: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class Deliverer:
    """Posts CloudEvents to one webhook, signing each body."""

    def __init__(
        self,
        webhook_url: str,
        signer: Signer,
        *,
        time_scale: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._url = webhook_url
        self._signer = signer
        self._scale = time_scale
        self._sleep = sleep
        self._http = httpx.AsyncClient(transport=transport, timeout=10.0)
        self.stats = DeliveryStats()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def post(
        self, payload: dict[str, Any] | list[dict[str, Any]], *, forged: bool = False
    ) -> int:
        """One attempt: sign and POST; returns the HTTP status (0 when the webhook is unreachable)."""
        body = orjson.dumps(payload)
        first = payload[0] if isinstance(payload, list) else payload
        headers = self._signer.headers(body, str(first.get("eventid", "")), forged=forged)
        try:
            response = await self._http.post(self._url, content=body, headers=headers)
        except httpx.TransportError:
            return 0
        self.stats.statuses[response.status_code] = (
            self.stats.statuses.get(response.status_code, 0) + 1
        )
        return response.status_code

    async def deliver(self, payload: dict[str, Any] | list[dict[str, Any]]) -> bool:
        """Deliver with Adobe's retries; True once a 2xx arrived, False when Adobe would give up."""
        for delay in (0.0, *RETRY_SCHEDULE):
            if delay:
                self.stats.retried += 1
                await self._sleep(delay * self._scale)
            status = await self.post(payload)
            if 200 <= status < 300:
                self.stats.delivered += 1
                return True
            if status and not retried(status):
                break
        self.stats.dropped += 1
        log.warning("event dropped", extra={"status": status})
        return False
