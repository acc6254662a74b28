"""Reading a topic to its true end on the real embedded broker when a partition holds more than
one fetch answer carries: every record of every partition, whichever the broker answered first."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from sandbox.broker import EmbeddedBroker
from streams.runtime.catch_up import Record, read_to_end, true_ends
from streams.runtime.producer import producer
from tests.support.stack import free_port

pytestmark = pytest.mark.integration

TOPIC = "cartwright.test.full-fetches"
PARTITIONS = 8
# ~1.2 MB a partition: more than one fetch answer (1 MB a partition) carries, and together
# more than the broker puts in one answer, so some partitions come back empty at first.
PER_PARTITION = 1500
VALUE = b"x" * 800


async def fill(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
    finally:
        await admin.close()
    kafka = producer(bootstrap)
    await kafka.start()
    try:
        for _ in range(PER_PARTITION):
            for partition in range(PARTITIONS):
                await kafka.send(TOPIC, value=VALUE, partition=partition)
        await kafka.flush()
    finally:
        await kafka.stop()


async def read_everything(bootstrap: str) -> tuple[Counter[int], dict[int, int], dict[int, int]]:
    await fill(bootstrap)
    counted: Counter[int] = Counter()

    def count(record: Record) -> None:
        counted[record.partition] += 1

    ends = await read_to_end(bootstrap, TOPIC, count)
    hinted = await true_ends(
        bootstrap, [TopicPartition(TOPIC, p) for p in range(PARTITIONS)], hints={}
    )
    from_zero = await true_ends(
        bootstrap,
        [TopicPartition(TOPIC, p) for p in range(PARTITIONS)],
        hints={TopicPartition(TOPIC, p): 0 for p in range(PARTITIONS)},
    )
    assert {tp.partition: end for tp, end in hinted.items()} == ends
    return counted, ends, {tp.partition: end for tp, end in from_zero.items()}


def test_a_read_to_the_end_gets_every_partition_whole_when_answers_are_full() -> None:
    with EmbeddedBroker(port=free_port()) as broker:
        counted, ends, from_zero = asyncio.run(read_everything(broker.bootstrap))

    everything = dict.fromkeys(range(PARTITIONS), PER_PARTITION)
    assert dict(counted) == everything
    assert ends == everything
    assert from_zero == everything
