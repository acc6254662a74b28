"""A plain producer for the commands that run outside the worker (backfill, journal pull)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer


def producer(bootstrap: str) -> AIOKafkaProducer:
    """At-least-once, no idempotence (the embedded broker lacks InitProducerId)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=10,
        max_batch_size=256 * 1024,
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
