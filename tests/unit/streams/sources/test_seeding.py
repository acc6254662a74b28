"""The webhook's memory of stored ids: seeded once at start (retried, waited for briefly), then
kept up to date from each followed raw record, by its header or, for older records, its envelope."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

import orjson
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError

from schemas.contract.topics import RAW
from streams.runtime.catch_up import Record
from streams.runtime.metrics import Metrics
from streams.sources.raw_publisher import EVENT_ID_HEADER
from streams.sources.recent_ids import RecentIds
from streams.sources.seeding import (
    FollowedIds,
    Seeding,
    Tail,
    record_event_id,
    stored_event_id,
)
from tests.support.faketime import FakeTime


class Loads:
    """A load that fails `failures` times, then returns `ids` and where the read ended."""

    def __init__(self, ids: list[str], failures: int = 0, ends: dict[int, int] | None = None):
        self.ids = ids
        self.failures = failures
        self.ends = ends or {}
        self.calls = 0

    async def __call__(self) -> Tail:
        self.calls += 1
        if self.calls <= self.failures:
            raise KafkaConnectionError("broker not there yet")
        return Tail(self.ids, self.ends)


class Follows:
    """A follow that notes where it was asked to start and then hands over the given ids."""

    def __init__(self, remember: Callable[[str], None], later: list[str]) -> None:
        self.remember = remember
        self.later = later
        self.started_at: list[dict[int, int]] = []

    async def __call__(self, start: Mapping[int, int]) -> None:
        self.started_at.append(dict(start))
        for event_id in self.later:
            self.remember(event_id)


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


async def test_after_the_seed_the_topic_is_followed_from_where_the_seed_read_ended() -> None:
    seen = RecentIds()
    follows = Follows(seen.add, ["evt-from-another-worker"])
    seeding = Seeding(Loads(["evt-1"], ends={0: 7, 1: 3}), _adder(seen), Metrics(), follow=follows)

    await seeding.run()

    assert follows.started_at == [{0: 7, 1: 3}]
    assert "evt-1" in seen and "evt-from-another-worker" in seen


async def test_deliveries_go_on_while_the_follow_runs() -> None:
    release = asyncio.Event()

    async def follow(start: Mapping[int, int]) -> None:
        await release.wait()

    seeding = Seeding(Loads(["evt-1"]), _adder(RecentIds()), Metrics(), follow=follow, wait=30)
    running = asyncio.create_task(seeding.run())

    assert await asyncio.wait_for(seeding.ready(), timeout=5)
    assert not running.done()
    release.set()
    await running


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


def test_the_header_names_the_id_without_the_envelope_being_read() -> None:
    headers = [("traceparent", b"00-1"), (EVENT_ID_HEADER, b"evt-header")]

    assert record_event_id(headers, b"not even json") == "evt-header"
    assert record_event_id(headers, orjson.dumps({"eventid": "evt-envelope"})) == "evt-header"


def test_records_stored_before_the_header_give_the_id_in_their_envelope() -> None:
    envelope = orjson.dumps({"eventid": "evt-envelope"})

    assert record_event_id([], envelope) == "evt-envelope"
    assert record_event_id([("traceparent", b"00-1")], envelope) == "evt-envelope"
    # A header that says nothing readable is not trusted over the envelope.
    assert record_event_id([(EVENT_ID_HEADER, b"")], envelope) == "evt-envelope"
    assert record_event_id([(EVENT_ID_HEADER, b"\xff\xfe")], envelope) == "evt-envelope"
    assert record_event_id([], b"not json") is None


def test_a_followed_record_is_a_duplicate_from_then_on_and_its_lag_is_observed() -> None:
    time = FakeTime()
    seen = RecentIds(clock=time.clock)
    metrics = Metrics()
    followed = FollowedIds(seen.add, metrics, clock=time.wall_clock)
    stored_at_ms = int(time.wall * 1000) - 250

    followed(raw_record(0, b"{}", [(EVENT_ID_HEADER, b"evt-1")], stored_at_ms))
    followed(raw_record(1, orjson.dumps({"eventid": "evt-old"}), [], stored_at_ms))
    followed(raw_record(2, b"not an envelope", [], stored_at_ms))

    assert "evt-1" in seen and "evt-old" in seen
    assert len(seen) == 2
    assert metrics.counts["webhook.followed_ids"] == 2
    assert metrics.counts["webhook.followed_without_id"] == 1
    lag = metrics.latencies["webhook.follow_lag"].summary()
    assert lag["count"] == 2
    assert lag["max"] == 0.25


def test_following_an_id_already_remembered_keeps_it_once() -> None:
    seen = RecentIds()
    seen.add("evt-own")
    followed = FollowedIds(seen.add, Metrics())

    followed(raw_record(0, b"{}", [(EVENT_ID_HEADER, b"evt-own")], 0))

    assert "evt-own" in seen
    assert len(seen) == 1


def raw_record(
    offset: int, value: bytes, headers: list[tuple[str, bytes]], timestamp_ms: int
) -> Record:
    """A record as the consumer hands it over (aiokafka's own record type, no broker)."""
    return ConsumerRecord(
        topic=RAW,
        partition=0,
        offset=offset,
        timestamp=timestamp_ms,
        timestamp_type=0,
        key=b"order:1",
        value=value,
        checksum=None,
        serialized_key_size=7,
        serialized_value_size=len(value),
        headers=headers,
    )


def _adder(seen: RecentIds) -> Callable[[Iterable[str]], None]:
    def add(ids: Iterable[str]) -> None:
        for event_id in ids:
            seen.add(event_id)

    return add
