"""How long the worker has been waiting on the other side: from a call's first failure until it
settles, whichever way."""

from __future__ import annotations

import pytest

from connectors.errors import RetriableError, SkippableError
from streams.runtime.retrying import Waiting, retry_until_settled
from tests.support.faketime import FakeTime


class Outage:
    """A call that fails `failures` times as a Dotdigital outage does, then answers (or, with
    `refuse`, is refused for good), noting how long the worker had waited at each attempt."""

    def __init__(self, failures: int, waiting: Waiting, refuse: bool = False) -> None:
        self.failures = failures
        self.waiting = waiting
        self.refuse = refuse
        self.seen: list[float | None] = []

    async def __call__(self) -> str:
        self.seen.append(self.waiting.longest())
        if self.failures:
            self.failures -= 1
            raise RetriableError("503", retry_after=30.0)
        if self.refuse:
            raise SkippableError("refused for good", status=422)
        return "done"


async def test_a_retried_call_waits_from_its_first_failure_until_it_settles() -> None:
    time = FakeTime()
    waiting = Waiting(clock=time.clock)
    outage = Outage(3, waiting)

    assert await retry_until_settled(outage, time.sleep, waiting) == "done"

    # Not waiting at the first attempt; 30 s more at each retry, as Dotdigital asked.
    assert outage.seen == [None, 30.0, 60.0, 90.0]
    assert waiting.longest() is None


async def test_a_call_refused_for_good_stops_waiting_too() -> None:
    time = FakeTime()
    waiting = Waiting(clock=time.clock)

    with pytest.raises(SkippableError):
        await retry_until_settled(Outage(1, waiting, refuse=True), time.sleep, waiting)

    assert waiting.longest() is None


def test_the_oldest_unsettled_wait_is_the_one_that_counts() -> None:
    time = FakeTime()
    waiting = Waiting(clock=time.clock)
    first = waiting.began()
    time.advance(100)
    second = waiting.began()
    time.advance(20)

    assert waiting.longest() == 120.0
    waiting.settled(first)
    assert waiting.longest() == 20.0
    waiting.settled(second)
    assert waiting.longest() is None
