"""Publishing envelopes onto `commerce.raw.v1`: each `eventid` once, done only when the broker acked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError

from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.sources.deliveries import Delivery, Incoming
from streams.sources.recent_ids import RecentIds

log = logging.getLogger(__name__)

# Adobe gives a delivery 10 s; leave room to answer 503 so it retries instead of timing out.
BROKER_ACK_TIMEOUT = 7.0

# Every raw record carries the id it was de-duplicated by, so the workers following the topic
# (streams/sources/seeding.py) learn it without parsing the envelope.
EVENT_ID_HEADER = "cartwright-event-id"


class Unstored(Exception):
    """The broker did not acknowledge in time: nothing of the delivery may be counted as stored."""


@dataclass(frozen=True)
class Published:
    accepted: int
    duplicates: int
    dead_lettered: int
    offsets: dict[int, int]  # partition → highest offset this delivery was stored at


class RawPublisher:
    """Puts deliveries on the raw topic; ids seen (or being stored right now) are dropped."""

    def __init__(
        self,
        topic: Any,
        incidents: Incidents,
        metrics: Metrics,
        *,
        seen: RecentIds | None = None,
        timeout: float = BROKER_ACK_TIMEOUT,
    ) -> None:
        self._topic = topic
        self._incidents = incidents
        self._metrics = metrics
        self.seen = seen or RecentIds()
        self._pending: set[str] = set()
        self._timeout = timeout

    def already_stored(self, event_ids: Iterable[str]) -> None:
        """Ids a previous run stored: publishing them again would store them twice."""
        for event_id in event_ids:
            self.seen.add(event_id)

    async def publish(self, delivery: Delivery, *, source: str) -> Published:
        """Store a delivery; raises `Unstored` when the broker did not acknowledge all of it."""
        unique: dict[str, Incoming] = {}
        for event in delivery.events:
            if event.event_id in self.seen or event.event_id in self._pending:
                continue
            unique.setdefault(event.event_id, event)
        # Claimed before the first await, so a concurrent redelivery counts as a duplicate; if
        # this store fails, Adobe retries the original, so nothing is lost.
        self._pending.update(unique)
        try:
            async with asyncio.timeout(self._timeout):
                futures = [
                    await self._topic.send(
                        key=event.key.encode(),
                        value=event.value,
                        headers=[(EVENT_ID_HEADER, event.event_id.encode())],
                    )
                    for event in unique.values()
                ]
                for part in delivery.unreadable:
                    await self._incidents.dead_letter(
                        reason=part.reason,
                        detail=part.detail,
                        original=part.value,
                        source_topic=source,
                        key=None,
                        subject=f"{source} delivery",
                        wait=True,
                    )
                offsets: dict[int, int] = {}
                for future in futures:
                    stored = await future
                    offsets[stored.partition] = max(
                        offsets.get(stored.partition, -1), stored.offset
                    )
        except (KafkaError, TimeoutError) as exc:
            log.warning("could not store delivery: %s", type(exc).__name__)
            raise Unstored(type(exc).__name__) from exc
        finally:
            self._pending.difference_update(unique)
        for event_id in unique:
            self.seen.add(event_id)
        published = Published(
            len(unique), len(delivery.events) - len(unique), len(delivery.unreadable), offsets
        )
        self._metrics.add(f"{source}.accepted", published.accepted)
        self._metrics.add(f"{source}.duplicates", published.duplicates)
        self._metrics.add(f"{source}.dead_lettered", published.dead_lettered)
        return published
