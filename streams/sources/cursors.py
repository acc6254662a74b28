"""Durable checkpoints of pollers on `cartwright.cursors.v1`: the last value of a key is its cursor."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaProducer

from schemas.contract.topics import CURSORS
from streams.runtime.catch_up import Record, read_to_end
from streams.runtime.producer import producer

log = logging.getLogger(__name__)

TIMEOUT = 30.0


class CursorStore(Protocol):
    """Where a poller keeps how far it has read; `save` returns once the document is durable."""

    async def load(self, name: str) -> dict[str, Any] | None: ...

    async def save(self, name: str, document: dict[str, Any]) -> None: ...


class KafkaCursors:
    """Cursors on the one-partition cursors topic: `save` appends, `load` reads it all back.

    Tansu never compacts, so `load` reads every save ever made; a poller loads once when it
    starts, and saves only when its cursor moved.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        fetch_max_wait_ms: int = 100,
        timeout: float = TIMEOUT,
        topic: str = CURSORS,
    ) -> None:
        self._bootstrap = bootstrap
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._timeout = timeout
        self._topic = topic
        self._producer: AIOKafkaProducer | None = None

    async def load(self, name: str) -> dict[str, Any] | None:
        """The document last saved under `name`, or None."""
        key = name.encode()
        latest: bytes | None = None

        def keep(record: Record) -> None:
            nonlocal latest
            if record.key == key:
                latest = record.value

        await read_to_end(
            self._bootstrap,
            self._topic,
            keep,
            fetch_max_wait_ms=self._fetch_max_wait_ms,
            give_up_after=self._timeout,
        )
        if latest is None:
            return None
        document = orjson.loads(latest)
        if not isinstance(document, dict):
            raise ValueError(f"cursor {name!r} is not a JSON object")
        return document

    async def save(self, name: str, document: dict[str, Any]) -> None:
        """Append the document under `name` and wait for the broker's acknowledgement."""
        if self._producer is None:
            kafka = producer(self._bootstrap)
            try:
                await kafka.start()
            except BaseException:
                await kafka.stop()
                raise
            self._producer = kafka
        async with asyncio.timeout(self._timeout):
            await self._producer.send_and_wait(
                self._topic, key=name.encode(), value=orjson.dumps(document)
            )
        log.debug("cursor saved", extra={"topic": self._topic, "key": name})

    async def close(self) -> None:
        kafka, self._producer = self._producer, None
        if kafka is not None:
            await kafka.stop()
