"""`cartwright ingest journal`: Adobe I/O Events' journal pulled onto the raw topic, resumable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from schemas.contract.topics import DEADLETTER, EXCEPTIONS, RAW
from streams.checkpoint import FileCheckpoint
from streams.envelopes import Delivery, read_delivery
from streams.incidents import Incidents
from streams.metrics import Metrics
from streams.producer import ProducerTopic, producer
from streams.raw import RawPublisher, Unstored
from streams.rawlog import StoredThrough
from streams.settings import Settings

log = logging.getLogger(__name__)

DRAINED_WAIT = 10.0
ERROR_WAIT = 5.0


def journal_delivery(page: dict[str, Any], client_id: str) -> tuple[Delivery, str | None]:
    """The envelopes of one journal page, and the position after it."""
    delivery = Delivery()
    for entry in page.get("events", []):
        event = entry.get("event") if isinstance(entry, dict) else None
        part = read_delivery(orjson.dumps(event), client_id)
        delivery.events.extend(part.events)
        delivery.unreadable.extend(part.unreadable)
    last = page.get("_page", {}).get("last")
    return delivery, last if isinstance(last, str) else None


async def pull_journal(
    settings: Settings,
    *,
    url: str,
    checkpoint: Path,
    once: bool = False,
    limit: int = 100,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> int:
    """Consume the journal from its stored position; `once` stops when it is drained.

    The position moves on only after the broker acknowledged the page, so a crash re-reads at
    most one page, and its event ids are dropped as duplicates.
    """
    store = FileCheckpoint(checkpoint)
    state = store.load()
    position = state.get("position")
    bootstrap = settings.kafka.bootstrap
    through = StoredThrough(state.get("raw_offsets"))
    # A crash may have stored part of a page after its last checkpoint: read those ids back.
    already = await through.resume(bootstrap)
    kafka = producer(bootstrap)
    await kafka.start()
    published = 0
    try:
        incidents = Incidents(ProducerTopic(kafka, DEADLETTER), ProducerTopic(kafka, EXCEPTIONS))
        publisher = RawPublisher(ProducerTopic(kafka, RAW), incidents, Metrics(), timeout=60.0)
        publisher.already_stored(already)
        async with httpx.AsyncClient(timeout=30.0) as http:
            while True:
                params: dict[str, str | int] = {"limit": limit}
                if position:
                    params["since"] = position
                try:
                    response = await http.get(url, params=params)
                except httpx.TransportError as exc:
                    log.warning("journal unreachable: %s", type(exc).__name__)
                    await sleep(ERROR_WAIT)
                    continue
                if response.status_code == 204:
                    if once:
                        return published
                    await sleep(float(response.headers.get("retry-after", DRAINED_WAIT)))
                    continue
                if response.status_code != 200:
                    log.warning("journal answered %s", response.status_code)
                    await sleep(ERROR_WAIT)
                    continue
                delivery, last = journal_delivery(response.json(), settings.adobe.client_id)
                try:
                    result = await publisher.publish(delivery, source="journal")
                except Unstored:
                    await sleep(ERROR_WAIT)
                    continue
                published += result.accepted
                through.advance(result.offsets)
                if last:
                    position = last
                    store.save(
                        {
                            "position": position,
                            "url": url,
                            "raw_offsets": through.as_dict(),
                        }
                    )
    finally:
        await kafka.stop()
