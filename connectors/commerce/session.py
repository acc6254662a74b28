"""One Commerce REST exchange: store-code prefix, auth, retries, logging and error translation."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from connectors.dotdigital.clock import Clock, Sleep
from connectors.dotdigital.retry import with_retries
from connectors.errors import ConnectorError, classify, from_transport
from connectors.lifecycle import json_api_client
from connectors.replies import decode_json

logger = logging.getLogger(__name__)


def segment(value: str | int) -> str:
    """Percent-encode one path segment (SKUs may hold `/`, spaces, `#`…)."""
    return quote(str(value), safe="")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry 429, 5xx and transport failures."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: Callable[[], float] = random.random


class RestSession:
    """Owns the `httpx.AsyncClient`; every request of the connector goes through `send`.

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
        self.prefix = f"/rest/{segment(store_code)}"
        self._retry = retry
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._http = json_api_client(base_url, auth, transport=transport, timeout=timeout)

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    async def aclose(self) -> None:
        await self._http.aclose()

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
        return await with_retries(
            lambda: self._attempt(operation, method, path, params, body),
            attempts=self._retry.attempts,
            base_delay=self._retry.base_delay,
            max_delay=self._retry.max_delay,
            sleep=self._sleep,
            jitter=self._retry.jitter,
        )

    async def _attempt(
        self,
        operation: str,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: Any,
    ) -> Any:
        """Send once; return the decoded body or raise the `ConnectorError` it stands for."""
        where = f"{method} {path}"  # never the query: filters may hold email addresses
        content = None if body is None else orjson.dumps(body)
        headers = None if content is None else {"Content-Type": "application/json"}
        started = self._clock()
        # Translated outside the `except`, so the httpx error (and the request holding the
        # Authorization header) is not even the __context__ of ours.
        failure: ConnectorError | None = None
        try:
            response = await self._http.request(
                method, self.prefix + path, params=params, content=content, headers=headers
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            failure = from_transport(exc, where=where)
        fields: dict[str, Any] = {
            "operation": operation,
            "method": method,
            "path": path,
            "duration_ms": round((self._clock() - started) * 1000, 1),
        }
        if failure is not None:
            logger.warning("commerce %s failed: %s", where, failure, extra=fields)
            raise failure
        fields["status"] = response.status_code
        error = classify(
            response.status_code, response.content, response.headers, now=self._wall_clock
        )
        if error is not None:
            fields["retry_after"] = getattr(error, "retry_after", None)
            logger.warning("commerce %s -> %s", where, response.status_code, extra=fields)
            error.add_note(f"while calling {where} ({operation})")
            raise error
        logger.debug("commerce %s -> %s", where, response.status_code, extra=fields)
        return decode_json(response.content, where)
