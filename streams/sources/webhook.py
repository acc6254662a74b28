"""`/webhooks/adobe-commerce`: verified Adobe I/O deliveries onto `commerce.raw.v1`, 2xx only once stored."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from faust.web import Request, Response, View

from connectors.adobe_io.signature import PublicKeyCache, verify_delivery
from connectors.errors import RetriableError
from streams.runtime.metrics import Metrics
from streams.sources.deliveries import read_delivery
from streams.sources.raw_publisher import RawPublisher, Unstored

log = logging.getLogger(__name__)

PATH = "/webhooks/adobe-commerce"
MAX_CHALLENGE = 512


@dataclass
class Ingest:
    """What the webhook needs: how to verify, for whom, and where to store."""

    publisher: RawPublisher
    keys: PublicKeyCache | None
    client_id: str
    metrics: Metrics


async def _publish(ingest: Ingest, body: bytes) -> tuple[int, dict[str, Any]]:
    delivery = read_delivery(body, ingest.client_id)
    if delivery.foreign_recipients:
        return 403, {"error": "recipientclientid is not this integration's client id"}
    try:
        published = await ingest.publisher.publish(delivery, source="webhook")
    except Unstored:
        return 503, {"error": "could not store the delivery; retry later"}
    return 200, {
        "accepted": published.accepted,
        "duplicates": published.duplicates,
        "dead_lettered": published.dead_lettered,
    }


def webhook_view(ingest: Ingest) -> type[View]:
    """The view class for one app, bound to its ingest."""

    class AdobeCommerceWebhook(View):
        async def get(self, request: Request) -> Response:
            challenge = request.query.get("challenge")
            if not challenge or len(challenge) > MAX_CHALLENGE:
                return self.json({"error": "expected ?challenge="}, status=400)
            return self.json({"challenge": challenge})

        async def post(self, request: Request) -> Response:
            body = await request.read()
            if ingest.keys is not None:
                try:
                    verdict = await verify_delivery(body, dict(request.headers), ingest.keys)
                except RetriableError as exc:
                    log.warning("public key unavailable: %s", exc)
                    return self.json({"error": "cannot verify right now"}, status=503)
                if not verdict.genuine:
                    log.warning("rejected delivery: %s", verdict.reason)
                    ingest.metrics.add("webhook.rejected_signature")
                    return self.json({"error": verdict.reason}, status=401)
            status, answer = await _publish(ingest, body)
            return self.json(answer, status=status)

    return AdobeCommerceWebhook
