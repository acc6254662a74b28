"""The batch pipeline: concurrent where keys differ, in order where they are shared."""

from __future__ import annotations

import asyncio

import pytest

from streams.sinks.dotdigital.in_flight import OrderedInFlight


class Gate:
    """A job that records when it starts and finishes, and finishes only when released."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log
        self.release = asyncio.Event()

    async def __call__(self) -> None:
        self.log.append(f"start {self.name}")
        await self.release.wait()
        self.log.append(f"end {self.name}")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_jobs_with_different_keys_run_at_once() -> None:
    log: list[str] = []
    pipeline = OrderedInFlight(max_in_flight=4)
    first, second = Gate("a", log), Gate("b", log)

    await pipeline.submit({"a@example.com"}, first)
    await pipeline.submit({"b@example.com"}, second)
    await settle()

    assert log == ["start a", "start b"]
    second.release.set()
    first.release.set()
    await pipeline.drain()


async def test_a_job_sharing_a_key_waits_for_the_earlier_one() -> None:
    log: list[str] = []
    pipeline = OrderedInFlight(max_in_flight=4)
    first, second = Gate("first", log), Gate("second", log)

    await pipeline.submit({"a@example.com", "b@example.com"}, first)
    await pipeline.submit({"b@example.com"}, second)
    await settle()
    assert log == ["start first"]
    second.release.set()
    first.release.set()
    await pipeline.drain()

    assert log == ["start first", "end first", "start second", "end second"]


async def test_submit_waits_for_a_free_slot() -> None:
    log: list[str] = []
    pipeline = OrderedInFlight(max_in_flight=1)
    first = Gate("first", log)
    await pipeline.submit({"a"}, first)

    waiting = asyncio.create_task(pipeline.submit({"b"}, Gate("second", log)))
    await settle()
    assert not waiting.done()
    first.release.set()
    await settle()

    assert waiting.done()


async def test_a_failed_job_stops_later_ones_and_is_reported() -> None:
    reported: list[BaseException] = []

    async def on_failure(exc: BaseException) -> None:
        reported.append(exc)

    async def broken() -> None:
        raise RuntimeError("Dotdigital said no")

    ran: list[str] = []

    async def later() -> None:
        ran.append("later")

    pipeline = OrderedInFlight(max_in_flight=2, on_failure=on_failure)
    await pipeline.submit({"a"}, broken)
    await pipeline.submit({"a"}, later)
    await settle()

    assert [str(exc) for exc in reported] == ["Dotdigital said no"]
    assert ran == []
    with pytest.raises(RuntimeError):
        await pipeline.submit({"b"}, later)
    with pytest.raises(RuntimeError):
        await pipeline.drain()
