"""A journal: entries appended durably and read back by every worker, from where each last read.

The sink keeps two (the enrolment ledger, the import journal) on topics of their own, not in
Faust tables: on the embedded broker a table's recovery trusts an end offset that is one batch
too low and can lose the last update, which is exactly the entry a crash left behind. A journal
reads its topic to the true end instead (`streams.runtime.catch_up`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from streams.runtime.catch_up import Record, read_to_end

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)


class Journal(Protocol[E]):
    """Where entries are kept: `append` returns once the entry is durable."""

    async def append(self, entry: E) -> None: ...

    async def read_new(self) -> list[E]: ...


class MemoryJournal(Generic[E]):
    """Entries kept in this process only (a worker without a broker: tests, tools)."""

    def __init__(self) -> None:
        self.entries: list[E] = []

    async def append(self, entry: E) -> None:
        self.entries.append(entry)

    async def read_new(self) -> list[E]:
        return []  # whoever appended here already holds the entry in memory


class KafkaJournal(Generic[E]):
    """Entries on a topic: sent through the worker's producer (keyed by `key`) and awaited until
    the broker acknowledged them; read back from where the last read ended, to the true end."""

    def __init__(
        self,
        bootstrap: str,
        topic: Any,
        model: type[E],
        *,
        name: str,
        key: Callable[[E], str],
        fetch_max_wait_ms: int = 50,
    ) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._model = model
        self._name = name
        self._key = key
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._positions: dict[int, int] = {}

    async def append(self, entry: E) -> None:
        sent = await self._topic.send(
            key=self._key(entry).encode(), value=orjson.dumps(entry.model_dump(mode="json"))
        )
        await sent

    async def read_new(self) -> list[E]:
        entries: list[E] = []

        def keep(record: Record) -> None:
            try:
                entries.append(self._model.model_validate_json(record.value or b""))
            except ValidationError:
                log.warning(
                    "unreadable journal entry",
                    extra={"topic": self._name, "partition": record.partition},
                )

        ends = await read_to_end(
            self._bootstrap,
            self._name,
            keep,
            start=self._positions,
            fetch_max_wait_ms=self._fetch_max_wait_ms,
        )
        self._positions.update(ends)
        return entries


class SharedReads(Generic[E]):
    """Reads of a journal that callers share: a caller needs a read that started no earlier
    than `fresh` seconds before it asked (0: after it asked). Callers that wait while a read
    runs share the next one, so a burst costs a few reads, not one each."""

    def __init__(
        self,
        journal: Journal[E],
        keep: Callable[[list[E]], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._journal = journal
        self._keep = keep
        self._clock = clock
        self._lock = asyncio.Lock()
        self._last_started: float | None = None

    async def since(self, fresh: float = 0.0) -> None:
        asked = self._clock()
        async with self._lock:
            if self._last_started is not None and self._last_started >= asked - fresh:
                return  # a read that began late enough has finished meanwhile
            started = self._clock()
            self._keep(await self._journal.read_new())
            self._last_started = started
