"""Connector error taxonomy (fatal, retriable, skippable) and the one table mapping HTTP onto it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping

import httpx
import orjson

from connectors.privacy import redact_emails

# A Reset value above this is a Unix timestamp, below it a number of seconds (the spec allows both).
EPOCH_THRESHOLD = 1e9
_DESCRIPTION_LIMIT = 200
_V2_CODE = re.compile(r"\bERROR_[A-Z0-9_]+\b")
_FLAT_LIMIT_TOKEN = b"error_apiusage_exceeded"
_TOO_MANY_IMPORTS_TOKEN = b"toomanyactiveimports"


class ConnectorError(Exception):
    """Anything a connector raises; callers route on the subclass, never on the message."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.description = description


class RetriableError(ConnectorError):
    """Try again later: after `retry_after` seconds when the server said so, else with backoff."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, description=description)
        self.retry_after = retry_after


class RateLimited(RetriableError):
    """The account spent its call budget (429, or the v2 flat hourly cap)."""


class TooManyImports(RetriableError):
    """Too many imports running at once (429 `tooManyActiveImports`): wait for one to finish."""


class FatalError(ConnectorError):
    """Nothing works until an operator acts (credentials, region, permission): stop the worker."""


class SkippableError(ConnectorError):
    """This record or request is bad and will stay bad: dead-letter it and carry on.

    `status` is the server's answer, None when the request was refused before it was sent.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        code: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, description=description)


# The one status table. Statuses not listed fall back by class: 5xx retriable, 4xx skippable.
_STATUS_TABLE: Mapping[int, tuple[type[ConnectorError], str]] = {
    400: (SkippableError, "invalid request"),
    401: (FatalError, "authorization denied: check the API user and password"),
    403: (FatalError, "forbidden: wrong region or missing API permission"),
    404: (SkippableError, "not found"),
    408: (RetriableError, "request timeout"),
    409: (SkippableError, "conflict"),
    412: (SkippableError, "precondition failed (collection limit)"),
    422: (SkippableError, "unprocessable (e.g. inactive program)"),
    429: (RateLimited, "rate limited"),
    501: (FatalError, "endpoint not implemented"),
    505: (FatalError, "HTTP version not supported"),
}


def classify(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: Callable[[], float] = time.time,
) -> ConnectorError | None:
    """The error a response stands for, or None for success. `now` is the wall clock (epoch)."""
    if status < 300:
        return None
    lowered = body.lower()
    kind: type[ConnectorError]
    if status < 400:
        kind, reason = FatalError, "unexpected redirect: check the base URL"
    elif _FLAT_LIMIT_TOKEN in lowered:
        # The v2 flat hourly cap answers 400 (unconfirmed) but is a rate limit, not a bad request.
        kind, reason = RateLimited, "flat hourly API limit exceeded"
    else:
        kind, reason = _STATUS_TABLE.get(status, _fallback(status))
        if kind is RateLimited and _TOO_MANY_IMPORTS_TOKEN in lowered:
            kind, reason = TooManyImports, "too many active imports"
    code, description = _problem(body)
    description = description or reason
    message = f"HTTP {status}{f' {code}' if code else ''}: {description}"
    if issubclass(kind, RetriableError):
        wait = retry_after(headers, now=now())
        return kind(message, retry_after=wait, status=status, code=code, description=description)
    if kind is SkippableError:
        return SkippableError(message, status=status, code=code, description=description)
    if description != reason:
        message = f"{message} ({reason})"
    return kind(message, status=status, code=code, description=description)


def _fallback(status: int) -> tuple[type[ConnectorError], str]:
    if status >= 500:
        return RetriableError, "server error"
    return SkippableError, "client error"


def _problem(body: bytes) -> tuple[str | None, str | None]:
    """Code and description from a v3 `{errorCode, description}` or v2 `{message: "… ERROR_X"}`."""
    if not body.strip():
        return None, None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, _text_description(body)
    if isinstance(data, dict):
        code = data.get("errorCode")
        text = data.get("description") or data.get("message")
        if not isinstance(text, str):
            return (code if isinstance(code, str) else None), _text_description(body)
        return (code if isinstance(code, str) else _v2_code(text)), _short(text)
    if isinstance(data, str):
        return _v2_code(data), _short(data)
    return None, _text_description(body)


def _v2_code(message: str) -> str | None:
    codes = _V2_CODE.findall(message)
    return codes[-1] if codes else None


def _text_description(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("<"):
        return f"non-JSON body ({len(body)} bytes of HTML)"
    return _short(text)


def _short(text: str) -> str:
    text = redact_emails(" ".join(text.split()))
    return text if len(text) <= _DESCRIPTION_LIMIT else text[: _DESCRIPTION_LIMIT - 1] + "…"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def parse_reset(value: str | None, *, now: float) -> float | None:
    """Seconds until `X-RateLimit-Reset`: seconds-until, or an epoch timestamp when > 10^9."""
    if value is None:
        return None
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    if reset != reset or reset in (float("inf"), float("-inf")):
        return None
    if reset > EPOCH_THRESHOLD:
        reset -= now
    return max(reset, 0.0)


def reset_after(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds until the rate-limit window resets, from `X-RateLimit-Reset`, if present."""
    return parse_reset(_header(headers, "X-RateLimit-Reset"), now=now)


def remaining_calls(headers: Mapping[str, str]) -> int | None:
    """`X-RateLimit-Remaining` as an integer, if present and numeric."""
    value = _header(headers, "X-RateLimit-Remaining")
    try:
        return None if value is None else int(float(value.strip()))
    except ValueError:
        return None


def retry_after(headers: Mapping[str, str], *, now: float) -> float | None:
    """How long the server asked us to wait: `X-RateLimit-Reset`, else a numeric `Retry-After`."""
    reset = reset_after(headers, now=now)
    if reset is not None:
        return reset
    value = _header(headers, "Retry-After")
    if value is None:
        return None
    try:
        return max(float(value.strip()), 0.0)
    except ValueError:
        return None  # an HTTP-date; rare enough that backoff is good enough


def from_transport(exc: httpx.HTTPError | httpx.InvalidURL, *, where: str) -> ConnectorError:
    """Translate an httpx exception at the edge so nothing above the connector sees httpx."""
    detail = redact_emails(str(exc)) or "no detail"
    message = f"{type(exc).__name__} on {where}: {detail}"
    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        return classify(response.status_code, response.content, response.headers) or FatalError(
            message
        )
    fatal = (
        httpx.InvalidURL,
        httpx.UnsupportedProtocol,
        httpx.TooManyRedirects,
        httpx.LocalProtocolError,  # we built a request the protocol forbids: retrying cannot help
    )
    if isinstance(exc, fatal):
        return FatalError(message)
    # Timeouts, connect/read/write errors, remote protocol errors, proxies, decoding: transient.
    return RetriableError(message)
