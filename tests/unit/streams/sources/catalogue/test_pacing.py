"""The catalogue's pace: one import's worth of records per slot, slots spaced so the catalogue
spends its share of the Low tier and no more, on an injected clock."""

from __future__ import annotations

import pytest

from streams.settings import Settings
from streams.sources.catalogue.pacing import (
    CALLS_PER_SLOT,
    Pace,
    Pacer,
    catalogue_pace,
    configured_pace,
    slot_start,
)


class Clock:
    """A clock that moves only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_half_of_thirty_one_low_calls_is_a_slot_every_seven_point_seven_seconds() -> None:
    pace = catalogue_pace(31, 0.5, 1000)

    assert pace.records == 1000
    assert pace.seconds == pytest.approx(60 / (31 * 0.5 / CALLS_PER_SLOT))
    assert pace.seconds == pytest.approx(7.74, abs=0.01)


def test_the_default_settings_pace_on_the_lanes_low_calls_after_the_feed_reserve() -> None:
    settings = Settings()

    pace = configured_pace(settings)

    lanes = settings.dotdigital.low_per_minute - settings.dotdigital.feed_reserve_per_minute
    assert pace == catalogue_pace(lanes, 0.5, settings.orders.batch_size)


@pytest.mark.parametrize(
    ("low", "share", "records"), [(0, 0.5, 1000), (31, 0, 1000), (31, 1.5, 1000), (31, 0.5, 0)]
)
def test_no_pace_without_a_budget_a_share_or_records(
    low: float, share: float, records: int
) -> None:
    with pytest.raises(ValueError, match="no pace"):
        catalogue_pace(low, share, records)


def test_the_first_slot_starts_at_once_and_each_next_a_period_later() -> None:
    pace = Pace(records=1000, seconds=8.0)

    assert slot_start(None, 50.0, pace) == 50.0
    assert slot_start(50.0, 51.0, pace) == 58.0


def test_a_slot_opened_late_does_not_let_the_next_catch_up() -> None:
    pace = Pace(records=1000, seconds=8.0)

    # Commerce answered slowly: the slot opens when the record comes, not on the old grid.
    assert slot_start(50.0, 80.0, pace) == 80.0


async def test_the_pacer_admits_a_chunk_per_slot_and_waits_between_chunks() -> None:
    clock = Clock()
    pacer = Pacer(Pace(records=3, seconds=8.0), clock=clock, sleep=clock.sleep)

    for _ in range(7):
        await pacer.admit()

    # Records 1-3 at once, 4-6 a period later, the 7th a period after that.
    assert clock.slept == [8.0, 8.0]
    assert pacer.slots == 3
    assert clock.now == 116.0


async def test_a_sync_reading_slower_than_its_pace_never_waits() -> None:
    clock = Clock()
    pacer = Pacer(Pace(records=2, seconds=8.0), clock=clock, sleep=clock.sleep)

    for _ in range(6):
        await pacer.admit()
        clock.now += 5.0  # each record took Commerce 5 s to read

    assert clock.slept == []
    assert pacer.slots == 3


async def test_twenty_thousand_products_at_the_default_pace_take_twenty_slots() -> None:
    clock = Clock()
    pacer = Pacer(configured_pace(Settings()), clock=clock, sleep=clock.sleep)

    for _ in range(20_000):
        await pacer.admit()

    assert pacer.slots == 20
    assert clock.now - 100.0 == pytest.approx(19 * pacer.pace.seconds)
