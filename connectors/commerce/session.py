"""One Commerce REST exchange: the store-code prefix and the retries around the shared REST session."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.clock import Clock, Sleep
from connectors.rest import RestSession, segment
from connectors.retry import with_retries

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry 429, 5xx and transport failures."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: Callable[[], float] = random.random


class CommerceSession(RestSession):
    """Every request of the Commerce connector goes through `send`.

    `clock` (monotonic) times requests, `wall_clock` (epoch) reads epoch-style reset headers,
    `sleep` waits between retries: the server's `Retry-After` when given, else backoff.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth,
        store_code: str,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        retry: RetryPolicy,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(
            base_url,
            auth,
            source="Commerce",
            log=logger,
            transport=transport,
            timeout=timeout,
            clock=clock,
            wall_clock=wall_clock,
        )
        self.prefix = f"/rest/{segment(store_code)}"
        self._retry = retry
        self._sleep = sleep

    async def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """Send `METHOD /rest/<store>/V1/…`, retrying retriable failures; the decoded body."""
        if not path.startswith("/V1/"):
            raise ValueError(f"Commerce paths start with /V1/, not {path!r}")

        async def attempt() -> Any:
            reply = await self.exchange(
                operation, method, self.prefix + path, shown=path, params=params, body=body
            )
            return reply.data

        return await with_retries(
            attempt,
            attempts=self._retry.attempts,
            base_delay=self._retry.base_delay,
            max_delay=self._retry.max_delay,
            sleep=self._sleep,
            jitter=self._retry.jitter,
        )
