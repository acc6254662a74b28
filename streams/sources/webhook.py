"""`/webhooks/adobe-commerce`: verified Adobe I/O deliveries onto `commerce.raw.v1`, 2xx only once stored."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web
from faust.web import Request, Response, View

from connectors.adobe_io.signature import PublicKeyCache, verify_delivery
from connectors.errors import RetriableError
from streams.runtime.metrics import Metrics
from streams.settings import WebhookSettings
from streams.sources.deliveries import Delivery, Window, read_delivery
from streams.sources.intake import (
    Gate,
    Refusal,
    check_declared_length,
    read_bounded,
    signature_headers_present,
)
from streams.sources.raw_publisher import RawPublisher, Unstored
from streams.sources.seeding import Seeding

log = logging.getLogger(__name__)

PATH = "/webhooks/adobe-commerce"
MAX_CHALLENGE = 512


@dataclass(frozen=True)
class Answer:
    """What the webhook answers one request."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ingest:
    """What the webhook needs: how to verify, for whom, within which bounds, and where to store."""

    publisher: RawPublisher
    keys: PublicKeyCache | None
    client_id: str
    metrics: Metrics
    bounds: WebhookSettings = field(default_factory=WebhookSettings)
    window: Window | None = None
    seeding: Seeding | None = None
    gate: Gate = field(init=False)

    def __post_init__(self) -> None:
        self.gate = Gate(self.bounds.max_concurrent)
        if self.window is None:
            self.window = Window(self.bounds.max_event_age, self.bounds.max_event_lead)


def server_options(bounds: WebhookSettings) -> dict[str, Any]:
    """aiohttp's application options for the worker's web server. aiohttp has no header read
    timeout: its keep-alive timer, armed when a connection opens and after each response, is what
    closes a connection whose request never completes, so it is set short."""
    return {
        "client_max_size": bounds.max_body_bytes,
        "handler_args": {"keepalive_timeout": bounds.idle_timeout},
    }


async def _publish(ingest: Ingest, body: bytes) -> Answer:
    bounds = ingest.bounds
    delivery = read_delivery(
        body, ingest.client_id, max_events=bounds.max_events, window=ingest.window
    )
    try:
        if delivery.refused is not None:
            # One dead letter says what was refused; Adobe does not retry a 413.
            await ingest.publisher.publish(
                Delivery(unreadable=[delivery.refused]), source="webhook"
            )
            ingest.metrics.add("webhook.refused_too_large")
            return Answer(413, {"error": delivery.refused.detail})
        if delivery.foreign_recipients or delivery.missing_recipients:
            ingest.metrics.add("webhook.refused_recipient")
            named = "no recipient" if not delivery.foreign_recipients else "another recipient"
            return Answer(403, {"error": f"an event names {named}, not this integration"})
        published = await ingest.publisher.publish(delivery, source="webhook")
    except Unstored:
        return Answer(503, {"error": "could not store the delivery; retry later"})
    return Answer(
        200,
        {
            "accepted": published.accepted,
            "duplicates": published.duplicates,
            "dead_lettered": published.dead_lettered,
        },
    )


async def _verified(ingest: Ingest, body: bytes, request: web.Request) -> Answer | None:
    """None when the body verifies (or verification is off), else the answer refusing it."""
    if ingest.keys is None:
        return None
    try:
        verdict = await verify_delivery(body, dict(request.headers), ingest.keys)
    except RetriableError as exc:
        log.warning("public key unavailable: %s", exc)
        return Answer(503, {"error": "cannot verify right now"})
    if verdict.genuine:
        return None
    log.warning("rejected delivery: %s", verdict.reason)
    ingest.metrics.add("webhook.rejected_signature")
    return Answer(401, {"error": verdict.reason})


async def receive(ingest: Ingest, request: web.Request) -> Answer:
    """One POSTed delivery, from its headers to the broker's acknowledgement."""
    bounds = ingest.bounds
    try:
        if ingest.keys is not None and not signature_headers_present(request.headers):
            ingest.metrics.add("webhook.rejected_unsigned")
            return Answer(401, {"error": "missing x-adobe-digital-signature or key path headers"})
        check_declared_length(request.content_length, bounds.max_body_bytes)
        with ingest.gate.slot():
            body = await read_bounded(
                request.content, limit=bounds.max_body_bytes, within=bounds.read_timeout
            )
            refused = await _verified(ingest, body, request)
            if refused is not None:
                return refused
            if ingest.seeding is not None and not await ingest.seeding.ready():
                return Answer(503, {"error": "starting up; retry later"}, {"Retry-After": "1"})
            return await _publish(ingest, body)
    except Refusal as refusal:
        ingest.metrics.add(f"webhook.refused_{refusal.status}")
        return Answer(refusal.status, {"error": refusal.reason}, refusal.headers)


def webhook_view(ingest: Ingest) -> type[View]:
    """The view class for one app, bound to its ingest."""

    class AdobeCommerceWebhook(View):
        async def get(self, request: Request) -> Response:
            challenge = request.query.get("challenge")
            if not challenge or len(challenge) > MAX_CHALLENGE:
                return self.json({"error": "expected ?challenge="}, status=400)
            return self.json({"challenge": challenge})

        async def post(self, request: Request) -> Response:
            # faust.web runs on aiohttp: the request is aiohttp's, with its body unread.
            answer = await receive(ingest, cast(web.Request, request))
            return self.json(answer.body, status=answer.status, headers=answer.headers)

    return AdobeCommerceWebhook
