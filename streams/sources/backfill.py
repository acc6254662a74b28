"""`cartwright backfill`: Commerce history read through REST onto the raw topic, resumable."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from connectors.commerce.delta import DeltaCheckpoint
from schemas.commerce.backfill import ENTITIES, backfill_event
from schemas.contract.topics import DEADLETTER, EXCEPTIONS, RAW
from streams.runtime.clients import commerce_client
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.producer import ProducerTopic, producer
from streams.settings import Settings
from streams.sources.checkpoint import FileCheckpoint
from streams.sources.deliveries import Delivery, read_delivery
from streams.sources.raw_publisher import RawPublisher
from streams.sources.resume import ResumePoint

log = logging.getLogger(__name__)


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
    through = ResumePoint(state.get("raw_offsets"))
    # A killed run may have stored part of a page after its last checkpoint: read those ids back.
    already = await through.resume(bootstrap)
    state["raw_offsets"] = through.as_dict()
    store.save(state)
    kafka = producer(bootstrap)
    await kafka.start()
    progress = Progress()
    try:
        incidents = Incidents(ProducerTopic(kafka, DEADLETTER), ProducerTopic(kafka, EXCEPTIONS))
        publisher = RawPublisher(ProducerTopic(kafka, RAW), incidents, Metrics(), timeout=60.0)
        publisher.already_stored(already)
        commerce = settings.commerce
        client_id = settings.adobe.client_id
        async with commerce_client(commerce) as client:
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
                    through.advance(published.offsets)
                    state["raw_offsets"] = through.as_dict()
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
