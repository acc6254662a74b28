"""Retrying retriable connector calls: the server's `retry_after` first, else jittered backoff."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from connectors.clock import Sleep
from connectors.errors import RetriableError

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_DOUBLINGS = 64

OnRetry = Callable[[RetriableError, int, float], None]
"""Told (error, attempt that failed, seconds about to wait) before each wait."""


def backoff_delay(
    attempt: int, *, base_delay: float, max_delay: float, jitter: Callable[[], float]
) -> float:
    """Full-jitter exponential backoff: `jitter()` (in [0, 1)) of min(max, base * 2^(attempt-1))."""
    # Doubling stops counting long after any cap is reached: 2.0 ** 1024 would overflow a float.
    doublings = min(attempt - 1, MAX_DOUBLINGS)
    return jitter() * min(max_delay, base_delay * 2.0**doublings)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int | None,
    base_delay: float,
    max_delay: float,
    sleep: Sleep,
    on_retry: OnRetry | None = None,
    jitter: Callable[[], float] = random.random,
) -> T:
    """Await `call()` up to `attempts` times (None: until it settles), waiting out `RetriableError`s.

    A `retry_after` from the server is honoured exactly (it is when the budget comes back);
    otherwise the wait is jittered exponential backoff (`jitter` is the random source, in [0, 1),
    injectable for tests). Fatal and skippable errors, and the last retriable one, propagate
    unchanged; with `attempts=None` there is no last one: only success or a fatal or skippable
    error ends the wait.
    """
    if attempts is not None and attempts < 1:
        raise ValueError("attempts must be at least 1")
    attempt = 1
    while True:
        try:
            return await call()
        except RetriableError as error:
            if attempts is not None and attempt >= attempts:
                raise
            if error.retry_after is not None:
                delay = error.retry_after
            else:
                delay = backoff_delay(
                    attempt, base_delay=base_delay, max_delay=max_delay, jitter=jitter
                )
            logger.info(
                "retrying after retriable error",
                extra={"attempt": attempt, "delay_s": delay, "error": type(error).__name__},
            )
            if on_retry is not None:
                on_retry(error, attempt, delay)
        await sleep(delay)
        attempt += 1
