"""One Dotdigital HTTP exchange: the tier budget spent and learned from around the shared REST session."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.clock import Clock
from connectors.dotdigital.auth import ApiUserAuth
from connectors.dotdigital.ratelimit import (
    FLAT_LIMIT_CODE,
    FLAT_LIMIT_EXEMPT,
    OPERATION_TIERS,
    TierLimiter,
    is_hourly_scope,
)
from connectors.errors import ConnectorError, RateLimited
from connectors.privacy import mask_email
from connectors.rest import Reply, RestSession, segment

logger = logging.getLogger(__name__)

SOURCE = "Dotdigital"


class ApiSession(RestSession):
    """Every request of the Dotdigital connector goes through `send`."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: SecretStr,
        *,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        limiter: TierLimiter,
        background: bool = False,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        super().__init__(
            base_url,
            ApiUserAuth(username, password),
            source=SOURCE,
            log=logger,
            transport=transport,
            timeout=timeout,
            clock=clock,
            wall_clock=wall_clock,
        )
        self._limiter = limiter
        self._background = background
        # Calls sent, per client operation: what a caller that plans its calls reports.
        self.calls: Counter[str] = Counter()

    async def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        body: Any = None,
        email: str | None = None,
    ) -> Reply:
        """Spend the operation's tier, send, and return the reply or raise a `ConnectorError`.

        `email` is the address embedded in `path`, so the logged path can mask it.
        """
        tier = OPERATION_TIERS[operation]
        shown = path.replace(segment(email), mask_email(email)) if email else path
        await self._limiter.acquire(
            tier, hourly=operation not in FLAT_LIMIT_EXEMPT, background=self._background
        )
        self.calls[operation] += 1

        def answered(headers: httpx.Headers | None, error: ConnectorError | None) -> None:
            """Give the tier back, learning from the headers; hold it when told to wait."""
            self._limiter.release(tier, headers)
            if headers is None or not isinstance(error, RateLimited):
                return
            if error.retry_after is not None:
                if error.code == FLAT_LIMIT_CODE or is_hourly_scope(headers):
                    self._limiter.hold_hourly(error.retry_after)
                else:
                    self._limiter.hold(tier, error.retry_after)

        return await self.exchange(
            operation,
            method,
            path,
            shown=shown,
            params=params,
            body=body,
            fields={"tier": str(tier)},
            answered=answered,
        )
