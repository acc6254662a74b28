"""Whether a consumer group has committed everything on some topics: its committed offsets
against each partition's true end (streams/runtime/catch_up.py), never Tansu's end offsets."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.runtime.catch_up import read_to_end


async def _committed(
    bootstrap: str, group: str, topics: tuple[str, ...]
) -> dict[str, dict[int, int]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        found: dict[str, dict[int, int]] = {}
        for topic in topics:
            partitions = consumer.partitions_for_topic(topic) or set()
            if not partitions:
                await consumer.topics()
                partitions = consumer.partitions_for_topic(topic) or set()
            found[topic] = {}
            for partition in sorted(partitions):
                offset = await consumer.committed(TopicPartition(topic, partition))
                found[topic][partition] = offset or 0
        return found
    finally:
        await consumer.stop()


async def _behind(bootstrap: str, group: str, topics: tuple[str, ...]) -> dict[str, dict[int, int]]:
    # Committed first, ends after: a record produced before a commit is inside the end we read.
    committed = await _committed(bootstrap, group, topics)
    behind: dict[str, dict[int, int]] = {}
    for topic in topics:
        done = committed[topic]
        ends = await read_to_end(bootstrap, topic, lambda _: None, start=done)
        lagging = {p: end - done.get(p, 0) for p, end in ends.items() if end > done.get(p, 0)}
        if lagging:
            behind[topic] = lagging
    return behind


def behind(bootstrap: str, group: str, topics: tuple[str, ...]) -> dict[str, dict[int, int]]:
    """Per topic and partition, how many records `group` has not committed yet (empty: none)."""
    return asyncio.run(_behind(bootstrap, group, topics))
