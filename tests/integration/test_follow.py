"""Following a topic on the real embedded broker: every partition from given positions, records
stored later handed over as they come, a broker that is not there retried, and cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from sandbox.broker import EmbeddedBroker
from schemas.contract.topics import RAW
from streams.runtime.catch_up import FOLLOW_MAX_DELAY, Record, follow, read_to_end
from streams.runtime.producer import producer
from streams.runtime.topics import create_topics
from tests.support.stack import free_port

pytestmark = pytest.mark.integration

PARTITIONS = 2


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with EmbeddedBroker(port=free_port()) as broker:
        asyncio.run(create_topics(broker.bootstrap, partitions=PARTITIONS))
        yield broker.bootstrap


async def store(bootstrap: str, values: list[bytes], partition: int) -> None:
    kafka = producer(bootstrap)
    await kafka.start()
    try:
        for value in values:
            await kafka.send_and_wait(RAW, value=value, partition=partition)
    finally:
        await kafka.stop()


async def until(check: asyncio.Event, seconds: float = 30.0) -> None:
    await asyncio.wait_for(check.wait(), timeout=seconds)


async def test_follow_goes_on_from_where_a_read_to_the_end_stopped(bootstrap: str) -> None:
    await store(bootstrap, [b"before-0", b"before-1"], partition=0)
    await store(bootstrap, [b"before-2"], partition=1)
    ends = await read_to_end(bootstrap, RAW, lambda record: None)
    handed: list[tuple[int, bytes]] = []
    all_in = asyncio.Event()

    def handle(record: Record) -> None:
        handed.append((record.partition, record.value))
        if len(handed) == 3:
            all_in.set()

    following = asyncio.create_task(follow(bootstrap, RAW, handle, start=ends))
    try:
        await store(bootstrap, [b"after-0", b"after-1"], partition=0)
        await store(bootstrap, [b"after-2"], partition=1)
        await until(all_in)
    finally:
        following.cancel()
        with pytest.raises(asyncio.CancelledError):
            await following

    assert sorted(handed) == [(0, b"after-0"), (0, b"after-1"), (1, b"after-2")]
    assert [value for partition, value in handed if partition == 0] == [b"after-0", b"after-1"]


async def test_a_broker_that_is_not_there_is_retried_with_a_bounded_backoff() -> None:
    waits: list[float] = []
    retried: list[str] = []
    enough = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) >= 8:
            enough.set()
            await asyncio.Event().wait()  # until cancelled

    following = asyncio.create_task(
        follow(
            f"127.0.0.1:{free_port()}",
            RAW,
            lambda record: None,
            start={},
            sleep=sleep,
            on_retry=lambda error, delay: retried.append(type(error).__name__),
        )
    )
    await until(enough)
    following.cancel()
    with pytest.raises(asyncio.CancelledError):
        await following

    assert len(retried) == len(waits) == 8
    assert all(0 <= wait <= FOLLOW_MAX_DELAY for wait in waits)
    assert set(retried) == {"KafkaConnectionError"}
