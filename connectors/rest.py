"""The REST plumbing the API clients share: one HTTP session; a request sent, translated, logged, decoded."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from connectors.clock import Clock
from connectors.errors import (
    ConnectorError,
    FatalError,
    RetriableError,
    SkippableError,
    classify,
    from_transport,
)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

Answered = Callable[[httpx.Headers | None, ConnectorError | None], None]
"""Told how an exchange ended, before it returns or raises: the response headers (None when no
response came) and the error it stands for (None on success)."""


# Segments a URL resolver removes or merges (RFC 3986 §5.2.4; nginx's merge_slashes): httpx
# sends `/V1/products/../options` as `/V1/options`. Encoding the dots does not help, since
# servers such as nginx decode `%2E` before they resolve dot segments; so they are refused.
_UNSENDABLE_SEGMENTS = frozenset({"", ".", ".."})


def segment(value: str | int) -> str:
    """Percent-encode one path segment (emails, SKUs, keys): `/`, `@`, `+`, spaces, `#` included.

    An empty, `.` or `..` value would address another resource, so it raises `SkippableError`
    (no status: nothing was sent) and the record that carried it is dead-lettered.
    """
    text = str(value)
    if text in _UNSENDABLE_SEGMENTS:
        raise SkippableError(
            f"path segment {text!r} refused: it would address another resource",
            status=None,
            code="unsendable_path_segment",
        )
    return quote(text, safe="")


def decode_json(content: bytes, where: str) -> Any:
    """The decoded body, None when it is empty; `RetriableError` when it is not JSON."""
    if not content.strip():
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        # A success status with a broken body is a truncated or proxied reply: worth retrying.
        raise RetriableError(
            f"{where}: success status but the body is not JSON ({len(content)} bytes)"
        ) from None


async def unless_missing(call: Awaitable[T]) -> T | None:
    """What `call` returns, or None when the server answered 404 (there is no such thing)."""
    try:
        return await call
    except SkippableError as error:
        if error.status == 404:
            return None
        raise


def as_model(model: type[M], data: Any, source: str) -> M:
    """Validate a decoded body (or one item of it) as `model`, or raise `FatalError`."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise FatalError(
            f"unexpected {model.__name__} shape from {source} ({error.error_count()} errors)"
        ) from None


@dataclass(frozen=True)
class Reply:
    """A successful response: its status, headers and decoded JSON body (None when empty).

    A body in the wrong shape means the API broke its contract: `FatalError`, stop and look.
    """

    status: int
    data: Any
    source: str
    headers: httpx.Headers

    def model(self, model: type[M]) -> M:
        return as_model(model, self.data, self.source)

    def json_object(self, what: str) -> dict[str, Any]:
        if not isinstance(self.data, dict):
            raise FatalError(f"unexpected {what} reply from {self.source}: not a JSON object")
        return self.data

    def json_rows(self, what: str) -> list[dict[str, Any]]:
        rows = self.data
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise FatalError(f"unexpected {what} reply from {self.source}: not a list of objects")
        return rows


class RestSession:
    """Owns the `httpx.AsyncClient` of one API; `exchange` sends one request and reads its answer.

    `source` names the API in log messages and errors (`Dotdigital`, `Commerce`); records are
    logged on `log`, so each connector keeps its own logger. `clock` (monotonic) times requests,
    `wall_clock` (epoch) reads epoch-style reset headers.
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None,
        *,
        source: str,
        log: logging.Logger,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self.source = source
        self._log = log
        self._clock = clock
        self._wall_clock = wall_clock
        self._http = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"Accept": "application/json"},
        )

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._http.base_url = httpx.URL(value)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def exchange(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        shown: str | None = None,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        fields: Mapping[str, Any] | None = None,
        answered: Answered | None = None,
    ) -> Reply:
        """Send once; return the reply or raise the `ConnectorError` it stands for.

        `shown` is the path as logs and errors may show it (personal data masked, no prefix),
        `fields` are extra log fields, `answered` hears how the exchange ended.
        """
        shown = path if shown is None else shown
        where = f"{method} {shown}"  # never the query: filters may hold email addresses
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
        logged: dict[str, Any] = {
            "operation": operation,
            "method": method,
            "path": shown,
            **(fields or {}),
            "duration_ms": round((self._clock() - started) * 1000, 1),
        }
        vendor = self.source.lower()
        if failure is not None:
            if answered is not None:
                answered(None, failure)
            self._log.warning("%s %s failed: %s", vendor, where, failure, extra=logged)
            raise failure
        logged["status"] = response.status_code
        logged["request_id"] = response.headers.get("X-Request-Id")
        error = classify(
            response.status_code, response.content, response.headers, now=self._wall_clock
        )
        if answered is not None:
            answered(response.headers, error)
        if error is not None:
            logged["code"] = error.code
            logged["retry_after"] = getattr(error, "retry_after", None)
            self._log.warning("%s %s -> %s", vendor, where, response.status_code, extra=logged)
            error.add_note(f"while calling {where} ({operation})")
            raise error
        self._log.debug("%s %s -> %s", vendor, where, response.status_code, extra=logged)
        data = decode_json(response.content, where)
        return Reply(response.status_code, data, self.source, response.headers)


class SessionClient:
    """Base of the API clients: `async with client:` closes its session on the way out."""

    _session: RestSession

    @property
    def base_url(self) -> str:
        return self._session.base_url

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._session.aclose()
