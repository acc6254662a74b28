"""The bounded, time-limited memory of recently seen Adobe event ids."""

from __future__ import annotations

from streams.sources.recent_ids import RecentIds


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_remembers_an_added_id() -> None:
    seen = RecentIds(clock=FakeClock())

    seen.add("evt-1")

    assert "evt-1" in seen
    assert "evt-2" not in seen
    assert len(seen) == 1


def test_non_string_is_never_seen() -> None:
    seen = RecentIds(clock=FakeClock())
    seen.add("1")

    assert 1 not in seen
    assert None not in seen


def test_forgets_an_id_once_the_ttl_has_passed() -> None:
    clock = FakeClock()
    seen = RecentIds(ttl=60, clock=clock)
    seen.add("evt-1")

    clock.now += 59.9
    assert "evt-1" in seen
    clock.now += 0.1
    assert "evt-1" not in seen


def test_expired_ids_are_dropped_on_the_next_add() -> None:
    clock = FakeClock()
    seen = RecentIds(ttl=60, clock=clock)
    seen.add("evt-1")
    seen.add("evt-2")

    clock.now += 61
    seen.add("evt-3")

    assert len(seen) == 1
    assert "evt-3" in seen


def test_adding_again_restarts_the_ttl() -> None:
    clock = FakeClock()
    seen = RecentIds(ttl=60, clock=clock)
    seen.add("evt-1")

    clock.now += 50
    seen.add("evt-1")
    clock.now += 50

    assert "evt-1" in seen
    assert len(seen) == 1


def test_capacity_evicts_the_oldest_first() -> None:
    clock = FakeClock()
    seen = RecentIds(capacity=3, clock=clock)
    for event_id in ("evt-1", "evt-2", "evt-3"):
        seen.add(event_id)
        clock.now += 1

    seen.add("evt-4")

    assert len(seen) == 3
    assert "evt-1" not in seen
    assert all(event_id in seen for event_id in ("evt-2", "evt-3", "evt-4"))


def test_re_adding_an_id_makes_it_the_newest_for_eviction() -> None:
    clock = FakeClock()
    seen = RecentIds(capacity=2, clock=clock)
    seen.add("evt-1")
    seen.add("evt-2")

    seen.add("evt-1")
    seen.add("evt-3")

    assert "evt-1" in seen
    assert "evt-2" not in seen
    assert "evt-3" in seen
