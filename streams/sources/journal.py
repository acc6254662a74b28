"""`cartwright ingest journal`: Adobe I/O Events' journal pulled onto the raw topic, resumable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson

from connectors.adobe_io.journal import Drained, JournalClient, JournalPage
from connectors.errors import RetriableError, SkippableError
from schemas.contract.incidents import Reason
from schemas.contract.topics import DEADLETTER, EXCEPTIONS, RAW
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.producer import ProducerTopic, producer
from streams.settings import Settings
from streams.sources.checkpoint import FileCheckpoint
from streams.sources.deliveries import Delivery, Unreadable, read_delivery
from streams.sources.raw_publisher import RawPublisher, Unstored
from streams.sources.resume import ResumePoint

log = logging.getLogger(__name__)

DRAINED_WAIT = 10.0
ERROR_WAIT = 5.0


def journal_delivery(page: JournalPage, client_id: str) -> Delivery:
    """The envelopes of one journal page; an event addressed to no one or to another
    integration is dead-lettered (the journal is ours, so it is a fault worth seeing)."""
    delivery = Delivery()
    for event in page.events:
        value = orjson.dumps(event)
        part = read_delivery(value, client_id)
        delivery.events.extend(part.events)
        delivery.unreadable.extend(part.unreadable)
        if part.missing_recipients or part.foreign_recipients:
            whom = "no recipient" if part.missing_recipients else "another integration"
            delivery.unreadable.append(
                Unreadable(Reason.INVALID_ENVELOPE, f"journal event addressed to {whom}", value)
            )
    return delivery


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
    through = ResumePoint(state.get("raw_offsets"))
    # A crash may have stored part of a page after its last checkpoint: read those ids back.
    already = await through.resume(bootstrap)
    kafka = producer(bootstrap)
    await kafka.start()
    published = 0
    try:
        incidents = Incidents(ProducerTopic(kafka, DEADLETTER), ProducerTopic(kafka, EXCEPTIONS))
        publisher = RawPublisher(ProducerTopic(kafka, RAW), incidents, Metrics(), timeout=60.0)
        publisher.already_stored(already)
        async with JournalClient(url) as journal:
            while True:
                try:
                    page = await journal.read(position, limit)
                except (RetriableError, SkippableError) as error:
                    # A FatalError (401, 403: credentials or URL) is not caught: the command stops.
                    log.warning("journal read failed: %s", error)
                    await sleep(ERROR_WAIT)
                    continue
                if isinstance(page, Drained):
                    if once:
                        return published
                    await sleep(DRAINED_WAIT if page.retry_after is None else page.retry_after)
                    continue
                delivery = journal_delivery(page, settings.adobe.client_id)
                try:
                    result = await publisher.publish(delivery, source="journal")
                except Unstored:
                    await sleep(ERROR_WAIT)
                    continue
                published += result.accepted
                through.advance(result.offsets)
                if page.last:
                    position = page.last
                    store.save(
                        {
                            "position": position,
                            "url": url,
                            "raw_offsets": through.as_dict(),
                        }
                    )
    finally:
        await kafka.stop()
