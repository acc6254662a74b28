"""Retrying: the server's retry_after first, jittered backoff otherwise, bad requests never."""

from __future__ import annotations

import pytest

from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimited,
    RetriableError,
    SkippableError,
    TooManyImports,
)
from connectors.retry import backoff_delay, with_retries


class Sleeps(list[float]):
    """An injected sleep that only records what it was asked."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Failing:
    """A call that raises `errors` in turn, then returns "ok"; counts its calls."""

    def __init__(self, *errors: ConnectorError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_retriable_errors_back_off_exponentially_with_jitter() -> None:
    sleeps = Sleeps()
    call = Failing(RetriableError("503"), RetriableError("503"), RetriableError("503"))

    result = await with_retries(
        call, attempts=5, base_delay=1.0, max_delay=60.0, sleep=sleeps, jitter=lambda: 0.5
    )

    assert result == "ok"
    assert sleeps == [0.5, 1.0, 2.0]


async def test_backoff_is_capped_at_max_delay() -> None:
    sleeps = Sleeps()
    call = Failing(*(RetriableError("503") for _ in range(5)))

    await with_retries(
        call, attempts=6, base_delay=1.0, max_delay=4.0, sleep=sleeps, jitter=lambda: 1.0
    )

    assert sleeps == [1.0, 2.0, 4.0, 4.0, 4.0]


async def test_retry_after_from_the_server_is_honoured_exactly() -> None:
    sleeps = Sleeps()
    call = Failing(RateLimited("429", retry_after=37.0), TooManyImports("429", retry_after=3.0))

    await with_retries(
        call, attempts=3, base_delay=1.0, max_delay=10.0, sleep=sleeps, jitter=lambda: 0.5
    )

    assert sleeps == [37.0, 3.0]


@pytest.mark.parametrize(
    "error", [FatalError("HTTP 401"), SkippableError("HTTP 404", status=404)], ids=type
)
async def test_fatal_and_skippable_errors_are_not_retried(error: ConnectorError) -> None:
    sleeps = Sleeps()
    call = Failing(error)

    with pytest.raises(type(error)):
        await with_retries(call, attempts=5, base_delay=1.0, max_delay=10.0, sleep=sleeps)

    assert call.calls == 1
    assert sleeps == []


async def test_last_retriable_error_propagates_when_attempts_run_out() -> None:
    sleeps = Sleeps()
    last = RetriableError("third")
    call = Failing(RetriableError("first"), RetriableError("second"), last)

    with pytest.raises(RetriableError) as raised:
        await with_retries(
            call, attempts=3, base_delay=2.0, max_delay=10.0, sleep=sleeps, jitter=lambda: 0.25
        )

    assert raised.value is last
    assert sleeps == [0.5, 1.0]


async def test_on_retry_is_told_the_error_attempt_and_delay() -> None:
    seen: list[tuple[str, int, float]] = []
    call = Failing(RetriableError("boom"), RateLimited("429", retry_after=9.0))

    await with_retries(
        call,
        attempts=3,
        base_delay=1.0,
        max_delay=10.0,
        sleep=Sleeps(),
        on_retry=lambda error, attempt, delay: seen.append((str(error), attempt, delay)),
        jitter=lambda: 0.5,
    )

    assert seen == [("boom", 1, 0.5), ("429", 2, 9.0)]


async def test_at_least_one_attempt_is_required() -> None:
    with pytest.raises(ValueError, match="attempts"):
        await with_retries(Failing(), attempts=0, base_delay=1, max_delay=1, sleep=Sleeps())


def test_backoff_delay_doubles_per_attempt() -> None:
    delays = [
        backoff_delay(n, base_delay=0.5, max_delay=100.0, jitter=lambda: 1.0) for n in range(1, 5)
    ]

    assert delays == [0.5, 1.0, 2.0, 4.0]


async def test_without_an_attempt_limit_retriable_errors_are_waited_out_until_success() -> None:
    sleeps = Sleeps()
    call = Failing(*(RetriableError("503") for _ in range(2000)))

    result = await with_retries(
        call, attempts=None, base_delay=1.0, max_delay=60.0, sleep=sleeps, jitter=lambda: 1.0
    )

    assert result == "ok"
    assert call.calls == 2001
    assert sleeps[:3] == [1.0, 2.0, 4.0]
    assert set(sleeps[6:]) == {60.0}


async def test_without_an_attempt_limit_a_fatal_error_still_ends_the_wait() -> None:
    sleeps = Sleeps()
    call = Failing(RetriableError("503"), FatalError("HTTP 401"))

    with pytest.raises(FatalError):
        await with_retries(call, attempts=None, base_delay=1.0, max_delay=60.0, sleep=sleeps)

    assert call.calls == 2
    assert len(sleeps) == 1
