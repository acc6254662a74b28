"""`/webhooks/adobe-commerce`: verified Adobe I/O deliveries onto `commerce.raw.v1`, 2xx only once stored."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError
from faust.web import Request, Response, View

from connectors.commerce.signature import PublicKeyCache, verify_delivery
from connectors.errors import RetriableError
from streams.dedup import RecentIds
from streams.envelopes import read_delivery
from streams.incidents import Incidents
from streams.metrics import Metrics

log = logging.getLogger(__name__)

PATH = "/webhooks/adobe-commerce"
MAX_CHALLENGE = 512
# Adobe gives a delivery 10 s; leave room to answer 503 so it retries instead of timing out.
BROKER_ACK_TIMEOUT = 7.0


@dataclass
class Ingest:
    """What the webhook needs: where to publish, how to verify, what it has already seen."""

    raw_topic: Any
    incidents: Incidents
    keys: PublicKeyCache | None
    client_id: str
    seen: RecentIds
    metrics: Metrics


async def _publish(ingest: Ingest, body: bytes) -> tuple[int, dict[str, Any]]:
    delivery = read_delivery(body, ingest.client_id)
    if delivery.foreign_recipients:
        return 403, {"error": "recipientclientid is not this integration's client id"}
    fresh = [event for event in delivery.events if event.event_id not in ingest.seen]
    # A delivery can repeat an id inside itself; publish each id once.
    unique = list({event.event_id: event for event in fresh}.values())
    try:
        async with asyncio.timeout(BROKER_ACK_TIMEOUT):
            futures = [
                await ingest.raw_topic.send(key=event.key.encode(), value=event.value)
                for event in unique
            ]
            for part in delivery.unreadable:
                await ingest.incidents.dead_letter(
                    reason=part.reason,
                    detail=part.detail,
                    original=part.value,
                    source_topic=PATH,
                    key=None,
                    subject="webhook delivery",
                    wait=True,
                )
            for future in futures:
                await future
    except (KafkaError, TimeoutError) as exc:
        log.warning("could not store delivery: %s", type(exc).__name__)
        return 503, {"error": "could not store the delivery; retry later"}
    for event in unique:
        ingest.seen.add(event.event_id)
    ingest.metrics.add("webhook.accepted", len(unique))
    ingest.metrics.add("webhook.duplicates", len(delivery.events) - len(unique))
    ingest.metrics.add("webhook.dead_lettered", len(delivery.unreadable))
    return 200, {
        "accepted": len(unique),
        "duplicates": len(delivery.events) - len(unique),
        "dead_lettered": len(delivery.unreadable),
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
