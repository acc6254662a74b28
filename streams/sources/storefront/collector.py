"""`POST /storefront/events`: browser events admitted (origin, bot, rate, size), validated
strictly and put on `storefront.raw.v1` without waiting for the broker's acknowledgement."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from aiohttp import web
from faust.web import Request, Response, View
from pydantic import ValidationError

from schemas.commerce.storefront import MAX_DEPTH, SdkEvent, depth
from schemas.normalize.storefront import raw_key, received
from streams.runtime.metrics import Metrics
from streams.runtime.topics import encoded
from streams.settings import StorefrontSettings
from streams.sources.intake import Gate, Refusal, check_declared_length, read_bounded
from streams.sources.storefront.admission import (
    ClientLimiter,
    allowed_origin,
    cors_headers,
    is_bot,
)

log = logging.getLogger(__name__)

PATH = "/storefront/events"


@dataclass(frozen=True)
class Answer:
    """What the collector answers one request (`body` None: no content)."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Collector:
    """The collector's bounds, its per-client buckets and the topic accepted events go to."""

    topic: Any
    metrics: Metrics
    settings: StorefrontSettings = field(default_factory=StorefrontSettings)
    clock: Callable[[], datetime] = _now
    limiter: ClientLimiter = field(init=False)
    gate: Gate = field(init=False)

    def __post_init__(self) -> None:
        bounds = self.settings
        self.limiter = ClientLimiter(bounds.rate_per_second, bounds.burst, bounds.max_clients)
        self.gate = Gate(bounds.max_concurrent)


def parse_events(body: bytes, max_events: int) -> list[SdkEvent]:
    """One SDK event, or a JSON array of at most `max_events`; any other body is refused (4xx)
    with a short reason."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refusal(400, "the body is not JSON") from exc
    if depth(document) > MAX_DEPTH:
        raise Refusal(400, f"the body nests deeper than {MAX_DEPTH} levels")
    items = document if isinstance(document, list) else [document]
    if not items:
        raise Refusal(400, "an empty batch")
    if len(items) > max_events:
        raise Refusal(413, f"{len(items)} events; at most {max_events} in one body")
    events = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise Refusal(422, f"event {index}: not an object")
        try:
            events.append(SdkEvent.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise Refusal(422, f"event {index}: {where}: {first['type']}") from exc
    return events


def preflight(collector: Collector, headers: Mapping[str, str]) -> Answer:
    """`OPTIONS`: an allowed origin's page may POST here; any other is told nothing."""
    origin = allowed_origin(headers, collector.settings.origins)
    if origin is None:
        collector.metrics.add("storefront.refused_origin")
        return Answer(403, {"error": "origin not allowed"})
    return Answer(204, None, cors_headers(origin))


async def receive(collector: Collector, request: web.Request) -> Answer:
    """One POST, from its headers to the events handed to the producer."""
    metrics, bounds = collector.metrics, collector.settings
    origin = allowed_origin(request.headers, bounds.origins)
    if origin is None:
        metrics.add("storefront.refused_origin")
        return Answer(403, {"error": "origin not allowed"})
    cors = cors_headers(origin)
    if is_bot(request.headers.get("User-Agent")):
        # Answered as if stored: a bot learns nothing, and its views count for no one.
        metrics.add("storefront.dropped_bot")
        return Answer(204, None, cors)
    client = request.remote or "unknown"
    if not collector.limiter.admit(client):
        metrics.add("storefront.refused_429")
        retry = str(collector.limiter.retry_after())
        return Answer(429, {"error": "too many events; slow down"}, {**cors, "Retry-After": retry})
    try:
        check_declared_length(request.content_length, bounds.max_body_bytes)
        with collector.gate.slot():
            body = await read_bounded(
                request.content, limit=bounds.max_body_bytes, within=bounds.read_timeout
            )
        events = parse_events(body, bounds.max_events)
    except Refusal as refusal:
        metrics.add(f"storefront.refused_{refusal.status}")
        return Answer(refusal.status, {"error": refusal.reason}, {**cors, **refusal.headers})
    at = collector.clock()
    for event in events:
        raw = received(event, at)
        await collector.topic.send(
            key=raw_key(event, client).encode(),
            value=encoded(raw),
        )
    metrics.add("storefront.accepted", len(events))
    return Answer(202, {"accepted": len(events)}, cors)


def collector_view(collector: Collector) -> type[View]:
    """The view class for one app, bound to its collector."""

    class StorefrontEvents(View):
        def _answer(self, answer: Answer) -> Response:
            if answer.body is None:
                return self.bytes(b"", status=answer.status, headers=answer.headers)
            return self.json(answer.body, status=answer.status, headers=answer.headers)

        async def options(self, request: Request, **kwargs: Any) -> Response:
            return self._answer(preflight(collector, cast(web.Request, request).headers))

        async def post(self, request: Request) -> Response:
            # faust.web runs on aiohttp: the request is aiohttp's, with its body unread.
            return self._answer(await receive(collector, cast(web.Request, request)))

    return StorefrontEvents
