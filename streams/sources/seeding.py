"""The webhook's memory of stored event ids, shared by every worker through the raw topic: seeded
from its tail at start (a redelivery after a restart is still a duplicate), then kept up to date by
following the topic (an event any worker stored is a duplicate at every worker)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import orjson
from aiokafka.errors import KafkaError

from connectors.clock import Clock
from schemas.commerce.events import event_id_of
from schemas.contract.topics import RAW
from streams.runtime.catch_up import Record, follow, read_to_end
from streams.runtime.metrics import Metrics
from streams.sources.raw_publisher import EVENT_ID_HEADER
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


def record_event_id(headers: Sequence[tuple[str, bytes]], value: bytes | None) -> str | None:
    """The id a raw record was de-duplicated by: its header, or for records stored before the
    header existed (or without a readable one) the id in its envelope."""
    for name, written in headers:
        if name == EVENT_ID_HEADER and written:
            try:
                return written.decode()
            except UnicodeDecodeError:
                break
    return stored_event_id(value)


@dataclass(frozen=True)
class Tail:
    """The event ids at the raw topic's end, and where each partition's next record will be."""

    ids: list[str]
    ends: dict[int, int]


async def stored_tail(bootstrap: str, capacity: int, *, fetch_max_wait_ms: int = 100) -> Tail:
    """The event ids of about the last `capacity` raw records (its share from each partition),
    oldest first per partition, read from each partition's true end back by its share to the
    topic's true end (never the broker's end offsets, which Tansu reports a batch short)."""
    ends = await raw_offsets(bootstrap, fetch_max_wait_ms=fetch_max_wait_ms)
    if not ends:
        return Tail([], {})
    share = math.ceil(capacity / len(ends))
    found: list[str] = []

    def keep(record: Record) -> None:
        if (event_id := record_event_id(record.headers, record.value)) is not None:
            found.append(event_id)

    start = {partition: max(last + 1 - share, 0) for partition, last in ends.items()}
    read = await read_to_end(bootstrap, RAW, keep, start=start, fetch_max_wait_ms=fetch_max_wait_ms)
    return Tail(found, read)


class FollowedIds:
    """What following the raw topic does with each record: its id is remembered (stored by some
    worker, so a duplicate here), counted, and how long after its storing that was observed."""

    def __init__(
        self, remember: Callable[[str], None], metrics: Metrics, clock: Clock = time.time
    ) -> None:
        self._remember = remember
        self._metrics = metrics
        self._clock = clock

    def __call__(self, record: Record) -> None:
        event_id = record_event_id(record.headers, record.value)
        if event_id is None:
            self._metrics.add("webhook.followed_without_id")
            return
        self._remember(event_id)
        self._metrics.add("webhook.followed_ids")
        # The broker's timestamp is the storing worker's clock (CreateTime): between hosts this
        # is as exact as their clocks agree.
        self._metrics.observe("webhook.follow_lag", max(self._clock() - record.timestamp / 1000, 0))


async def follow_stored_ids(
    bootstrap: str,
    remember: Callable[[str], None],
    metrics: Metrics,
    start: Mapping[int, int],
    *,
    fetch_max_wait_ms: int = 100,
) -> None:
    """Every id stored on the raw topic from `start` on, by any worker, remembered as it comes,
    for the worker's lifetime; broker failures are retried (and counted), never raised."""

    def retrying(error: Exception, delay: float) -> None:
        metrics.add("webhook.follow_retries")

    await follow(
        bootstrap,
        RAW,
        FollowedIds(remember, metrics),
        start=start,
        fetch_max_wait_ms=fetch_max_wait_ms,
        on_retry=retrying,
    )


class Seeding:
    """Loads the ids already stored, once, into `remember` (deliveries wait for it, briefly), then
    follows the raw topic from exactly where that read ended, for the worker's lifetime."""

    def __init__(
        self,
        load: Callable[[], Awaitable[Tail]],
        remember: Callable[[Iterable[str]], None],
        metrics: Metrics,
        *,
        follow: Callable[[Mapping[int, int]], Awaitable[None]] | None = None,
        wait: float = SEED_WAIT,
        retry_wait: float = RETRY_WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._load = load
        self._remember = remember
        self._metrics = metrics
        self._follow = follow
        self._wait = wait
        self._retry_wait = retry_wait
        self._sleep = sleep
        self._done = asyncio.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    async def run(self) -> None:
        """Load until it succeeds (until then deliveries are answered 503 and Adobe retries), then
        follow: an id stored by another worker after the seed is remembered as it is fetched."""
        tail = await self._seed()
        if self._follow is not None:
            await self._follow(tail.ends)

    async def _seed(self) -> Tail:
        while True:
            try:
                tail = await self._load()
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("could not read stored event ids yet: %s", type(exc).__name__)
                await self._sleep(self._retry_wait)
                continue
            self._remember(tail.ids)
            self._metrics.add("webhook.seeded_ids", len(tail.ids))
            log.info("webhook de-duplication seeded with %d stored event ids", len(tail.ids))
            self._done.set()
            return tail

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
