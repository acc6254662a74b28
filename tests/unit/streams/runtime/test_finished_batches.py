"""An agent's batch is acknowledged (so its offsets may be committed) only once the agent is done
with it: one that failed or was cancelled halfway stays unacknowledged and comes again after the
restart, where Faust's own `take_events` acknowledges it anyway and a stopping worker commits
records it never finished."""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from streams.runtime.application import finished_batches

DEADLINE = 10.0


class Batching:
    """A Faust app whose one agent takes batches of two and fails on a batch holding a poison
    (no broker: Faust's agent test context)."""

    def __init__(self) -> None:
        self.app: Any = faust.App("batches-test", broker="kafka://127.0.0.1:1", store="memory://")
        topic = self.app.topic(
            "batches-test-source",
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )
        self.batches: list[list[bytes]] = []
        self.failed = asyncio.Event()
        self.agent = self.app.agent(topic, name="batches-test-agent")(self._step)

    async def _step(self, stream: Any) -> None:
        async for events in finished_batches(stream, 2, 0.05):
            self.batches.append([event.value for event in events])
            if b"poison" in self.batches[-1]:
                self.failed.set()
                raise ConnectionError("the broker went away mid-batch")


async def test_a_finished_batch_is_acknowledged_and_a_failed_one_is_not() -> None:
    batching = Batching()
    async with batching.agent.test_context() as agent:
        sent = [await agent.put(value) for value in (b"one", b"two", b"three", b"poison")]
        await asyncio.wait_for(batching.failed.wait(), DEADLINE)
    # The test context has stopped the agent and closed its batches, as a stopping worker does.

    assert batching.batches == [[b"one", b"two"], [b"three", b"poison"]]
    assert [event.message.acked for event in sent] == [True, True, False, False]
