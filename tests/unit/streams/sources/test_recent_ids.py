"""The bounded, time-limited memory of recently seen Adobe event ids."""

from __future__ import annotations

from streams.sources.recent_ids import RecentIds
from tests.support.faketime import FakeTime


def test_remembers_an_added_id() -> None:
    seen = RecentIds(clock=FakeTime(now=500.0).clock)

    seen.add("evt-1")

    assert "evt-1" in seen
    assert "evt-2" not in seen
    assert len(seen) == 1


def test_non_string_is_never_seen() -> None:
    seen = RecentIds(clock=FakeTime(now=500.0).clock)
    seen.add("1")

    assert 1 not in seen
    assert None not in seen


def test_forgets_an_id_once_the_ttl_has_passed() -> None:
    time = FakeTime(now=500.0)
    seen = RecentIds(ttl=60, clock=time.clock)
    seen.add("evt-1")

    time.now += 59.9
    assert "evt-1" in seen
    time.now += 0.1
    assert "evt-1" not in seen


def test_expired_ids_are_dropped_on_the_next_add() -> None:
    time = FakeTime(now=500.0)
    seen = RecentIds(ttl=60, clock=time.clock)
    seen.add("evt-1")
    seen.add("evt-2")

    time.now += 61
    seen.add("evt-3")

    assert len(seen) == 1
    assert "evt-3" in seen


def test_adding_again_restarts_the_ttl() -> None:
    time = FakeTime(now=500.0)
    seen = RecentIds(ttl=60, clock=time.clock)
    seen.add("evt-1")

    time.now += 50
    seen.add("evt-1")
    time.now += 50

    assert "evt-1" in seen
    assert len(seen) == 1


def test_capacity_evicts_the_oldest_first() -> None:
    time = FakeTime(now=500.0)
    seen = RecentIds(capacity=3, clock=time.clock)
    for event_id in ("evt-1", "evt-2", "evt-3"):
        seen.add(event_id)
        time.now += 1

    seen.add("evt-4")

    assert len(seen) == 3
    assert "evt-1" not in seen
    assert all(event_id in seen for event_id in ("evt-2", "evt-3", "evt-4"))


def test_re_adding_an_id_makes_it_the_newest_for_eviction() -> None:
    time = FakeTime(now=500.0)
    seen = RecentIds(capacity=2, clock=time.clock)
    seen.add("evt-1")
    seen.add("evt-2")

    seen.add("evt-1")
    seen.add("evt-3")

    assert "evt-1" in seen
    assert "evt-2" not in seen
    assert "evt-3" in seen
