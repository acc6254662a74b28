"""One Dotdigital HTTP exchange: tier budget, auth, timing, logging and error translation."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel, SecretStr, ValidationError

from connectors.dotdigital.auth import ApiUserAuth
from connectors.dotdigital.clock import Clock
from connectors.dotdigital.ratelimit import (
    FLAT_LIMIT_CODE,
    FLAT_LIMIT_EXEMPT,
    OPERATION_TIERS,
    TierLimiter,
    is_hourly_scope,
)
from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimited,
    classify,
    from_transport,
)
from connectors.lifecycle import json_api_client
from connectors.privacy import mask_email
from connectors.replies import decode_json

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Reply:
    """A successful response: its status and decoded JSON body (None when the body is empty).

    A body in the wrong shape means the API broke its contract: `FatalError`, stop and look.
    """

    status: int
    data: Any

    def model(self, model: type[M]) -> M:
        return as_model(model, self.data)

    def json_object(self, what: str) -> dict[str, Any]:
        if not isinstance(self.data, dict):
            raise FatalError(f"unexpected {what} reply from Dotdigital: not a JSON object")
        return self.data

    def json_rows(self, what: str) -> list[dict[str, Any]]:
        rows = self.data
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise FatalError(f"unexpected {what} reply from Dotdigital: not a list of objects")
        return rows


def segment(value: str) -> str:
    """Percent-encode one path segment (emails, collection names, keys): `/`, `@`, `+` included."""
    return quote(value, safe="")


class ApiSession:
    """Owns the `httpx.AsyncClient`; every request of the connector goes through `send`."""

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
        self._limiter = limiter
        self._background = background
        self._clock = clock
        self._wall_clock = wall_clock
        self._http = json_api_client(
            base_url, ApiUserAuth(username, password), transport=transport, timeout=timeout
        )

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._http.base_url = httpx.URL(value)

    async def aclose(self) -> None:
        await self._http.aclose()

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
        where = f"{method} {shown}"
        await self._limiter.acquire(
            tier, hourly=operation not in FLAT_LIMIT_EXEMPT, background=self._background
        )
        content = None if body is None else orjson.dumps(body)
        headers = None if content is None else {"Content-Type": "application/json"}
        started = self._clock()
        # The httpx exception is translated outside its `except` so it is not even the __context__
        # of ours: nothing above the connector sees httpx, nor the request holding the auth header.
        failure: ConnectorError | None = None
        try:
            response = await self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            failure = from_transport(exc, where=where)
            self._limiter.release(tier)
        fields: dict[str, Any] = {
            "operation": operation,
            "method": method,
            "path": shown,
            "tier": str(tier),
            "duration_ms": round((self._clock() - started) * 1000, 1),
        }
        if failure is not None:
            logger.warning("dotdigital %s failed: %s", where, failure, extra=fields)
            raise failure
        fields["status"] = response.status_code
        fields["request_id"] = response.headers.get("X-Request-Id")
        self._limiter.release(tier, response.headers)
        error = classify(
            response.status_code, response.content, response.headers, now=self._wall_clock
        )
        if error is not None:
            if isinstance(error, RateLimited) and error.retry_after is not None:
                if error.code == FLAT_LIMIT_CODE or is_hourly_scope(response.headers):
                    self._limiter.hold_hourly(error.retry_after)
                else:
                    self._limiter.hold(tier, error.retry_after)
            fields["code"] = error.code
            logger.warning("dotdigital %s -> %s", where, response.status_code, extra=fields)
            error.add_note(f"while calling {where} ({operation})")
            raise error
        logger.debug("dotdigital %s -> %s", where, response.status_code, extra=fields)
        return Reply(response.status_code, decode_json(response.content, where))


def as_model(model: type[M], data: Any) -> M:
    """Validate a decoded body (or one item of it) as `model`, or raise `FatalError`."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise FatalError(
            f"unexpected {model.__name__} shape from Dotdigital ({error.error_count()} errors)"
        ) from None
