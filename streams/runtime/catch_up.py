"""Reading a topic to its true end: until a fetch at each partition's position returns nothing.

The embedded broker answers ListOffsets-latest one batch too low, so "the end offset" cannot be
trusted (specs/embedded-broker.md). Instead each partition is read until the broker has answered
a fetch at the current position, issued after we asked, with no records and a high watermark
that is not ahead of the position (a full answer leaves some partitions empty).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError

from connectors.clock import Sleep
from connectors.retry import backoff_delay

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"

log = logging.getLogger(__name__)


async def read_to_end(
    bootstrap: str,
    topic: str,
    handle: Callable[[Record], None],
    *,
    start: Mapping[int, int] | None = None,
    fetch_max_wait_ms: int = 50,
    give_up_after: float = 60.0,
    partitions: Collection[int] | None = None,
) -> dict[int, int]:
    """Every record of `topic` from `start` (partition → offset; else the beginning), in order
    per partition, passed to `handle`; returns where each partition's next record will be.
    `partitions`: only these (a key's partition, when only one key's records matter)."""
    consumer = _consumer(bootstrap, fetch_max_wait_ms)
    await consumer.start()
    try:
        async with asyncio.timeout(give_up_after):
            partitions_of = await _topic_partitions(consumer, topic)
            chosen = [
                tp for tp in partitions_of if partitions is None or tp.partition in partitions
            ]
            given = start or {}
            begin = {tp: given.get(tp.partition) for tp in chosen}
            ends = await _read(consumer, begin, handle, fetch_max_wait_ms)
            return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def true_ends(
    bootstrap: str,
    partitions: Iterable[TopicPartition],
    *,
    hints: Mapping[TopicPartition, int] | None = None,
    handle: Callable[[Record], None] | None = None,
    fetch_max_wait_ms: int = 50,
    give_up_after: float = 60.0,
) -> dict[TopicPartition, int]:
    """Where each partition's next record will be, read rather than asked: from its hint (an
    offset at or before the end), else from the broker's reported end - 1, up to the position
    where a fetch returns nothing; every record read on the way is passed to `handle`. Keys are
    the partitions as given."""
    # aiokafka takes only its own TopicPartition; callers (Faust) may pass look-alike tuples.
    given = {TopicPartition(tp.topic, tp.partition): tp for tp in partitions}
    if not given:
        return {}
    known = {TopicPartition(tp.topic, tp.partition): offset for tp, offset in (hints or {}).items()}
    consumer = _consumer(bootstrap, fetch_max_wait_ms)
    await consumer.start()
    try:
        async with asyncio.timeout(give_up_after):
            ends = await _read_on(consumer, list(given), known, handle or _skip, fetch_max_wait_ms)
    finally:
        await consumer.stop()
    return {given[tp]: end for tp, end in ends.items()}


async def topic_ends(
    bootstrap: str, topic: str, *, fetch_max_wait_ms: int = 50, give_up_after: float = 60.0
) -> dict[int, int]:
    """Where each partition of `topic` ends (its next offset), read as `true_ends` reads."""
    consumer = _consumer(bootstrap, fetch_max_wait_ms)
    await consumer.start()
    try:
        async with asyncio.timeout(give_up_after):
            partitions = await _topic_partitions(consumer, topic)
            ends = await _read_on(consumer, partitions, {}, _skip, fetch_max_wait_ms)
    finally:
        await consumer.stop()
    return {tp.partition: end for tp, end in ends.items()}


async def _read_on(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    hints: Mapping[TopicPartition, int],
    handle: Callable[[Record], None],
    fetch_max_wait_ms: int,
) -> dict[TopicPartition, int]:
    """`_read` from each hint, else from the broker's reported end - 1: on Tansu the base of the
    last batch when we asked, on Kafka the last record; the batch fetched there reaches the end
    as of asking, so a partition that is still being written is not chased."""
    asked = [tp for tp in partitions if tp not in hints]
    reported = await consumer.end_offsets(asked) if asked else {}
    start = {**{tp: max(end - 1, 0) for tp, end in reported.items()}, **hints}
    begin = {tp: start[tp] for tp in partitions}
    last_batch = {tp for tp, end in reported.items() if end > 0}
    ends = await _read(
        consumer, begin, handle, fetch_max_wait_ms, last_batch=last_batch, whole_rounds=False
    )
    short = {tp: end for tp, end in ends.items() if tp in reported and reported[tp] != end}
    if short:
        log.info(
            "end offsets: the broker reported %s, read to %s",
            {f"{tp.topic}[{tp.partition}]": reported[tp] for tp in short},
            {f"{tp.topic}[{tp.partition}]": end for tp, end in short.items()},
        )
    return ends


def _consumer(
    bootstrap: str, fetch_max_wait_ms: int, *, auto_offset_reset: str = "latest"
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        # Tansu answers a fetch only once the wait is up, even when data is there.
        fetch_max_wait_ms=fetch_max_wait_ms,
        auto_offset_reset=auto_offset_reset,
    )


async def _assign(consumer: AIOKafkaConsumer, start: Mapping[TopicPartition, int | None]) -> None:
    """Read exactly these partitions, each from its offset (None: its beginning)."""
    consumer.assign(list(start))
    for tp, offset in start.items():
        if offset is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, offset)


def _skip(record: Record) -> None:
    """Finding an end needs no record's content."""


async def _topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer.topics()
        partitions = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(partitions)]


async def _fetch(
    consumer: AIOKafkaConsumer,
    pending: list[TopicPartition],
    asked_ms: int,
    fetch_max_wait_ms: int,
) -> dict[TopicPartition, list[Record]]:
    """Records at the current positions, or nothing once every partition's fetch was answered
    after `asked_ms` (or the round's timeout passed). `getmany` alone waits out its whole
    timeout when the answers are empty, which would make every read to the end that long."""
    deadline = time.monotonic() + (4 * fetch_max_wait_ms + 200) / 1000
    while True:
        left_ms = max(int((deadline - time.monotonic()) * 1000), 0)
        batches: dict[TopicPartition, list[Record]] = await consumer.getmany(
            *pending, timeout_ms=min(fetch_max_wait_ms, left_ms)
        )
        answered = all((consumer.last_poll_timestamp(tp) or 0) >= asked_ms for tp in pending)
        if batches or answered or not left_ms:
            return batches


async def _read(
    consumer: AIOKafkaConsumer,
    start: Mapping[TopicPartition, int | None],
    handle: Callable[[Record], None],
    fetch_max_wait_ms: int,
    *,
    last_batch: Collection[TopicPartition] = (),
    whole_rounds: bool = True,
) -> dict[TopicPartition, int]:
    """Every record from `start` (None: the beginning) to each partition's true end, passed to
    `handle`; returns the true ends (next offsets), keyed as in `start`. A partition in
    `last_batch` starts at its last batch, so its first records read reach its end.

    `whole_rounds`: a partition ends only in a round that brought no records at all, for a read
    from far behind, whose answers fill up. Without (a read from each partition's last batch,
    as table recovery's ends are found), each partition ends at its own empty answer: its
    answers are small, and topics that other workers keep writing (the changelogs, while they
    run) may never all fall silent in one round: table recovery chased them instead of ending,
    and three workers with one killed ten times lost contacts and orders (records committed but
    never joined or written; tests/integration/test_three_workers.py failed 5 runs of 5)."""
    pending = list(start)
    if not pending:
        return {}
    await _assign(consumer, start)
    ends: dict[TopicPartition, int] = {}
    while pending:
        asked_ms = int(time.time() * 1000)
        batches = await _fetch(consumer, pending, asked_ms, fetch_max_wait_ms)
        if whole_rounds and not any(batches.values()):
            # `getmany` returns nothing at its timeout even when an answer with records came in
            # at that moment (Tansu answers when its wait is up, as long as ours): take what
            # was buffered before any silence counts.
            batches = await consumer.getmany(*pending, timeout_ms=0)
        # A fetch answer that is full (the broker's response size limit) carries some
        # partitions' records and nothing for the rest, however much they hold: an empty
        # answer is the end only in a round that brought no records at all. An answer stamps
        # its partitions and buffers their records at once, so the stamps read here, before
        # any other await, belong to answers whose records are all in `batches`.
        emptied = not whole_rounds or not any(batches.values())
        stamps = {tp: consumer.last_poll_timestamp(tp) for tp in pending}
        for tp in list(pending):
            records = batches.get(tp, [])
            for record in records:
                handle(record)
            if records and tp not in last_batch:
                continue
            if records:
                ends[tp] = await consumer.position(tp)
                consumer.pause(tp)
                pending.remove(tp)
                continue
            answered = stamps[tp]
            # aiokafka drops a fetch answer that is not for the current position, so a stamp
            # after we asked is the broker saying: nothing at this position.
            if not emptied or answered is None or answered < asked_ms:
                continue
            position = await consumer.position(tp)
            # Unless the answer's high watermark is ahead: the embedded broker fills a fetch's
            # answer partition by partition and leaves the last ones empty once it is full.
            # (Its high watermark is never too high; when too low, it is the last batch's base
            # + 1, which a position at a batch's end only reaches after that last batch.)
            if position < (consumer.highwater(tp) or 0):
                continue
            ends[tp] = position
            consumer.pause(tp)
            pending.remove(tp)
    return ends


# --- following a topic for good (after a read to its end) ---

FOLLOW_BASE_DELAY = 0.5
FOLLOW_MAX_DELAY = 30.0


async def follow(
    bootstrap: str,
    topic: str,
    handle: Callable[[Record], None],
    *,
    start: Mapping[int, int],
    fetch_max_wait_ms: int = 100,
    on_retry: Callable[[Exception, float], None] | None = None,
    sleep: Sleep = asyncio.sleep,
    base_delay: float = FOLLOW_BASE_DELAY,
    max_delay: float = FOLLOW_MAX_DELAY,
) -> None:
    """Every record of `topic` from `start` (partition → offset; a partition not named there,
    from its beginning), in order per partition, passed to `handle`, until cancelled. No group:
    every partition, every record. When the broker fails, the consumer is closed and opened
    again after a jittered backoff capped at `max_delay` (`on_retry` is told the error and the
    wait), and reading goes on where `handle` last got a record."""
    positions = dict(start)
    attempt = 0
    while True:
        # Only a position below the log's start (records deleted) can be out of range.
        consumer = _consumer(bootstrap, fetch_max_wait_ms, auto_offset_reset="earliest")
        try:
            await consumer.start()
            await _assign_at(consumer, topic, positions)
            attempt = 0
            while True:
                batches = await consumer.getmany(timeout_ms=4 * fetch_max_wait_ms + 200)
                for tp, records in batches.items():
                    for record in records:
                        handle(record)
                        positions[tp.partition] = record.offset + 1
        except (KafkaError, OSError, TimeoutError) as exc:
            failure: Exception = exc
        finally:
            await consumer.stop()
        attempt += 1
        delay = backoff_delay(
            attempt, base_delay=base_delay, max_delay=max_delay, jitter=random.random
        )
        log.warning(
            "following %s failed (%s); again in %.1f s", topic, type(failure).__name__, delay
        )
        if on_retry is not None:
            on_retry(failure, delay)
        await sleep(delay)


async def _assign_at(consumer: AIOKafkaConsumer, topic: str, positions: Mapping[int, int]) -> None:
    partitions = await _topic_partitions(consumer, topic)
    if not partitions:
        raise UnknownTopicOrPartitionError(f"{topic} has no partitions yet")
    await _assign(consumer, {tp: positions.get(tp.partition) for tp in partitions})
