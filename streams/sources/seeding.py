"""Seeding the webhook's memory of stored event ids from the raw topic's tail at worker start, so
a redelivery after a restart is still a duplicate."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable

import orjson
from aiokafka.errors import KafkaError

from schemas.commerce.events import event_id_of
from schemas.contract.topics import RAW
from streams.runtime.catch_up import Record, read_to_end
from streams.runtime.metrics import Metrics
from streams.sources.resume import raw_offsets

log = logging.getLogger(__name__)

# Adobe gives a delivery 10 s; a delivery waits this long for the seed, then gets a 503 (retry).
SEED_WAIT = 6.0
RETRY_WAIT = 2.0


def stored_event_id(value: bytes | None) -> str | None:
    """The id a raw record was de-duplicated by when it was stored, if it is an envelope."""
    if not value:
        return None
    try:
        envelope = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(envelope, dict):
        return None
    found = event_id_of(envelope)
    return str(found) if isinstance(found, str | int | float) else None


async def stored_ids(bootstrap: str, capacity: int, *, fetch_max_wait_ms: int = 100) -> list[str]:
    """The event ids of about the last `capacity` raw records (its share from each partition),
    oldest first per partition, read from each partition's true end back by its share to the
    topic's true end (never the broker's end offsets, which Tansu reports a batch short)."""
    ends = await raw_offsets(bootstrap, fetch_max_wait_ms=fetch_max_wait_ms)
    if not ends:
        return []
    share = math.ceil(capacity / len(ends))
    found: list[str] = []

    def keep(record: Record) -> None:
        if (event_id := stored_event_id(record.value)) is not None:
            found.append(event_id)

    start = {partition: max(last + 1 - share, 0) for partition, last in ends.items()}
    await read_to_end(bootstrap, RAW, keep, start=start, fetch_max_wait_ms=fetch_max_wait_ms)
    return found


class Seeding:
    """Loads the ids already stored, once, into `remember`; deliveries wait for it (briefly)."""

    def __init__(
        self,
        load: Callable[[], Awaitable[Iterable[str]]],
        remember: Callable[[Iterable[str]], None],
        metrics: Metrics,
        *,
        wait: float = SEED_WAIT,
        retry_wait: float = RETRY_WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._load = load
        self._remember = remember
        self._metrics = metrics
        self._wait = wait
        self._retry_wait = retry_wait
        self._sleep = sleep
        self._done = asyncio.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    async def run(self) -> None:
        """Load until it succeeds: until then deliveries are answered 503 and Adobe retries."""
        while not self._done.is_set():
            try:
                ids = list(await self._load())
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("could not read stored event ids yet: %s", type(exc).__name__)
                await self._sleep(self._retry_wait)
                continue
            self._remember(ids)
            self._metrics.add("webhook.seeded_ids", len(ids))
            log.info("webhook de-duplication seeded with %d stored event ids", len(ids))
            self._done.set()

    async def ready(self) -> bool:
        """True once seeded; False when that did not happen within the wait."""
        if self._done.is_set():
            return True
        try:
            async with asyncio.timeout(self._wait):
                await self._done.wait()
        except TimeoutError:
            return False
        return True
