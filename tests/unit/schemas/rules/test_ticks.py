"""When the carts' ticker ticks: just after whole multiples of its interval on the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.rules.ticks import TICK_LAG, seconds_to_next_tick

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a whole multiple of 1 s and of 5 s


@pytest.mark.parametrize(
    ("offset", "interval", "expected"),
    [
        (0.3, 1.0, 0.7 + TICK_LAG),  # mid-second: the next whole second, and a hair
        (0.0, 1.0, TICK_LAG),  # on the second: the tick just after it
        (TICK_LAG, 1.0, 1.0),  # a tick was just made: the next second's
        (0.999, 1.0, 0.001 + TICK_LAG),
        (2.0, 5.0, 3.0 + TICK_LAG),  # a 5 s interval ticks at :00, :05, :10 …
        (0.25, 0.5, 0.25 + TICK_LAG),
    ],
)
def test_the_next_tick_is_just_after_the_next_multiple_of_the_interval(
    offset: float, interval: float, expected: float
) -> None:
    now = T0 + timedelta(seconds=offset)
    assert seconds_to_next_tick(now, interval) == pytest.approx(expected, abs=1e-6)


def test_a_tick_made_then_is_at_or_past_every_due_time_on_that_second() -> None:
    """A cart due on a whole second fires at the tick just after it, not an interval later."""
    now = T0 + timedelta(seconds=41.62)
    tick = now + timedelta(seconds=seconds_to_next_tick(now, 1.0))
    due = T0 + timedelta(seconds=42)
    assert due <= tick < due + timedelta(seconds=0.01)
