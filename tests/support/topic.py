"""A Faust topic's `send`, for tests of agents without a broker."""

from __future__ import annotations

import asyncio
from typing import Any


class RecordingTopic:
    """What is sent to a Kafka topic, kept in order; each send is acknowledged at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []
        self.headers: list[Any] = []
        # The partition each send named (None: the topic's partitioner chooses).
        self.partitions: list[int | None] = []

    async def send(
        self, *, key: bytes, value: bytes, partition: int | None = None, headers: Any = None
    ) -> asyncio.Future[None]:
        self.sent.append((key, value))
        self.partitions.append(partition)
        self.headers.append(headers)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class UnacknowledgedTopic(RecordingTopic):
    """A topic whose sends the broker never acknowledges: the worker dies waiting."""

    async def send(
        self, *, key: bytes, value: bytes, partition: int | None = None, headers: Any = None
    ) -> asyncio.Future[None]:
        self.sent.append((key, value))
        self.partitions.append(partition)
        self.headers.append(headers)
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lost.set_exception(ConnectionError("the worker was killed before the broker answered"))
        return lost
