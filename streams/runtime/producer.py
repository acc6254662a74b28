"""How our producers batch, and a plain producer for the commands that run outside the worker."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

# How every producer of ours batches, the worker's Faust producer included: one produce request
# carries one batch per partition and aiokafka keeps one request in flight per broker, so the
# batch size caps what a producer stores per round trip. Faust's default, 16 KB, holds three or
# four Commerce events; at 256 KB the webhook's batch deliveries no longer queue behind acks.
LINGER_MS = 10
MAX_BATCH_BYTES = 256 * 1024


def producer(bootstrap: str) -> AIOKafkaProducer:
    """At-least-once, no idempotence (the embedded broker lacks InitProducerId)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=LINGER_MS,
        max_batch_size=MAX_BATCH_BYTES,
        client_id="cartwright-ingest",
    )


class ProducerTopic:
    """One topic of a producer, shaped like a Faust topic's `send` (returns the ack future)."""

    def __init__(self, kafka: AIOKafkaProducer, name: str) -> None:
        self._kafka = kafka
        self.name = name

    async def send(
        self, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = await self._kafka.send(
            self.name, value=value, key=key, headers=headers
        )
        return future
