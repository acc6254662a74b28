"""Reading a topic to its true end on the real embedded broker, when its partitions hold more than
one fetch answer carries: the broker then leaves some partitions empty in an answer, which is not
their end (a read that took it for one stopped thousands of records short, so a ledger or marks
read that way would miss entries)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from sandbox.broker import EmbeddedBroker
from streams.runtime.catch_up import Record, read_to_end
from streams.runtime.producer import producer
from tests.support.stack import free_port

pytestmark = pytest.mark.integration

PARTITIONS = 8
PER_PARTITION = 3_000
VALUE = b"x" * 800  # 2.4 MB a partition: more than one answer carries


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with EmbeddedBroker(port=free_port()) as broker:
        yield broker.bootstrap


async def filled(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    kafka = producer(bootstrap)
    await kafka.start()
    try:
        acks = [
            await kafka.send(topic, value=VALUE, partition=n % PARTITIONS)
            for n in range(PARTITIONS * PER_PARTITION)
        ]
        await asyncio.gather(*acks)
    finally:
        await kafka.stop()


@pytest.mark.parametrize("run", range(3))
async def test_a_read_to_the_end_takes_every_record_of_partitions_larger_than_an_answer(
    bootstrap: str, run: int
) -> None:
    topic = f"scratch.catch-up.large.{run}"
    await filled(bootstrap, topic)
    seen = dict.fromkeys(range(PARTITIONS), 0)

    def count(record: Record) -> None:
        seen[record.partition] += 1

    ends = await read_to_end(bootstrap, topic, count)

    assert ends == dict.fromkeys(range(PARTITIONS), PER_PARTITION)
    assert seen == dict.fromkeys(range(PARTITIONS), PER_PARTITION)
