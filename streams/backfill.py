"""`cartwright backfill`: Commerce history read through REST onto the raw topic, resumable."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import orjson

from connectors.commerce.auth import BearerAuth, OAuth1Auth
from connectors.commerce.client import CommerceClient
from connectors.commerce.delta import DeltaCheckpoint
from schemas.backfill import ENTITIES, backfill_event
from streams.checkpoint import FileCheckpoint
from streams.envelopes import Delivery, read_delivery
from streams.incidents import Incidents
from streams.metrics import Metrics
from streams.producer import ProducerTopic, producer
from streams.raw import RawPublisher
from streams.rawlog import ids_after, raw_offsets
from streams.settings import CommerceSettings, Settings
from streams.topics import DEADLETTER, EXCEPTIONS, RAW

log = logging.getLogger(__name__)


def commerce_auth(settings: CommerceSettings) -> httpx.Auth:
    """OAuth 1.0a when the integration's four credentials are set, else its token as Bearer."""
    key, secret = settings.consumer_key, settings.consumer_secret
    token, token_secret = settings.access_token, settings.access_token_secret
    if key and secret and token and token_secret:
        return OAuth1Auth(key, secret, token, token_secret)
    if settings.token is None:
        raise ValueError("set CARTWRIGHT_COMMERCE__TOKEN or the four OAuth credentials")
    return BearerAuth(settings.token)


@dataclass
class Progress:
    """What a backfill has read and published so far, printed on one line."""

    started: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, entity: str, count: int) -> None:
        self.counts[entity] = self.counts.get(entity, 0) + count
        total = sum(self.counts.values())
        rate = total / max(time.monotonic() - self.started, 0.001)
        parts = ", ".join(f"{name} {n:,}" for name, n in self.counts.items())
        print(f"\rbackfill: {parts} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)


async def run_backfill(
    settings: Settings,
    *,
    since: datetime,
    entities: Sequence[str],
    checkpoint: Path,
    restart: bool = False,
) -> dict[str, int]:
    """Read every entity changed since `since`, page by page; after each page is acknowledged by
    the broker the checkpoint moves on, so a killed run resumes where it stopped."""
    store = FileCheckpoint(checkpoint)
    state = {} if restart else store.load()
    if state.get("since") != since.isoformat():
        state = {"since": since.isoformat(), "entities": {}}
    bootstrap = settings.kafka.bootstrap
    if "raw_offsets" not in state:
        state["raw_offsets"] = {str(p): o for p, o in (await raw_offsets(bootstrap)).items()}
        store.save(state)
    # A killed run may have stored part of a page after its last checkpoint: read those ids back.
    already = await ids_after(bootstrap, {int(p): o for p, o in state["raw_offsets"].items()})
    kafka = producer(bootstrap)
    await kafka.start()
    progress = Progress()
    try:
        incidents = Incidents(ProducerTopic(kafka, DEADLETTER), ProducerTopic(kafka, EXCEPTIONS))
        publisher = RawPublisher(ProducerTopic(kafka, RAW), incidents, Metrics(), timeout=60.0)
        for event_id in already:
            publisher.seen.add(event_id)
        commerce = settings.commerce
        client_id = settings.adobe.client_id
        async with CommerceClient(
            commerce.base_url, auth=commerce_auth(commerce), store_code=commerce.store_code
        ) as client:
            for entity in entities:
                path, _ = ENTITIES[entity]
                saved = state["entities"].get(entity)
                start = DeltaCheckpoint.from_dict(saved) if saved else since
                async for page in client.iter_delta(path, start, page_size=commerce.page_size):
                    delivery = Delivery()
                    for item in page.items:
                        event = backfill_event(entity, item, client_id=client_id)
                        part = read_delivery(orjson.dumps(event), client_id)
                        delivery.events.extend(part.events)
                        delivery.unreadable.extend(part.unreadable)
                    published = await publisher.publish(delivery, source="backfill")
                    for partition, offset in published.offsets.items():
                        known = state["raw_offsets"].get(str(partition), -1)
                        state["raw_offsets"][str(partition)] = max(known, offset)
                    state["entities"][entity] = page.checkpoint.as_dict()
                    state.setdefault("counts", {})[entity] = (
                        state.get("counts", {}).get(entity, 0) + published.accepted
                    )
                    store.save(state)
                    progress.add(entity, len(page.items))
    finally:
        await kafka.stop()
        print(file=sys.stderr)
    return progress.counts
