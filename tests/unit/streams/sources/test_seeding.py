"""Seeding the webhook's de-duplication at start: loaded once, retried, waited for briefly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

import orjson
from aiokafka.errors import KafkaConnectionError

from streams.runtime.metrics import Metrics
from streams.sources.recent_ids import RecentIds
from streams.sources.seeding import Seeding, stored_event_id
from tests.support.faketime import FakeTime


class Loads:
    """A load that fails `failures` times, then returns `ids`."""

    def __init__(self, ids: list[str], failures: int = 0) -> None:
        self.ids = ids
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> list[str]:
        self.calls += 1
        if self.calls <= self.failures:
            raise KafkaConnectionError("broker not there yet")
        return self.ids


async def test_run_remembers_the_stored_ids_and_is_then_ready() -> None:
    seen = RecentIds()
    metrics = Metrics()
    seeding = Seeding(Loads(["evt-1", "evt-2"]), _adder(seen), metrics)

    await seeding.run()

    assert seeding.done
    assert await seeding.ready()
    assert "evt-1" in seen and "evt-2" in seen
    assert metrics.counts["webhook.seeded_ids"] == 2


async def test_run_retries_a_broker_that_is_not_there_yet() -> None:
    time = FakeTime()
    load = Loads(["evt-1"], failures=2)
    seen = RecentIds()
    seeding = Seeding(load, _adder(seen), Metrics(), retry_wait=2.0, sleep=time.sleep)

    await seeding.run()

    assert load.calls == 3
    assert time.sleeps == [2.0, 2.0]
    assert "evt-1" in seen


async def test_ready_is_false_while_the_seed_has_not_come() -> None:
    seeding = Seeding(Loads([]), _adder(RecentIds()), Metrics(), wait=0.01)

    assert not await seeding.ready()
    assert not seeding.done


async def test_waiting_deliveries_go_on_as_soon_as_the_seed_is_in() -> None:
    seeding = Seeding(Loads(["evt-1"]), _adder(RecentIds()), Metrics(), wait=30)
    waiting = asyncio.create_task(seeding.ready())

    await seeding.run()

    assert await asyncio.wait_for(waiting, timeout=5)


def test_a_stored_envelope_gives_the_id_its_delivery_was_checked_by() -> None:
    assert stored_event_id(orjson.dumps({"eventid": "a", "event_id": "b", "id": "c"})) == "a"
    assert stored_event_id(orjson.dumps({"eventid": " ", "event_id": "b"})) == "b"
    assert stored_event_id(orjson.dumps({"id": "c"})) == "c"
    assert stored_event_id(orjson.dumps({"eventid": 12})) == "12"


def test_records_that_are_not_envelopes_give_no_id() -> None:
    for value in (None, b"", b"not json", b"[1, 2]", b'{"eventid": {"a": 1}}', b"{}"):
        assert stored_event_id(value) is None


def _adder(seen: RecentIds) -> Callable[[Iterable[str]], None]:
    def add(ids: Iterable[str]) -> None:
        for event_id in ids:
            seen.add(event_id)

    return add
