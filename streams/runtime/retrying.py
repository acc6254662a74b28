"""How long the worker keeps retrying a call that failed for a passing reason: as long as it takes.

The partition waits and nothing is dropped; a refusal for good (SkippableError) or a refused
account (FatalError) ends the wait at once.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from connectors.errors import RetriableError
from connectors.retry import with_retries

T = TypeVar("T")

RETRY_BASE_DELAY = 1.0
RETRY_MAX_DELAY = 60.0


class Waiting:
    """Since when (`clock()`, seconds) each retry loop still unsettled first failed: how long
    the worker has been waiting on the other side, which the early warnings read."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._since: dict[int, float] = {}
        self._ids = itertools.count()

    def longest(self) -> float | None:
        """Seconds the oldest unsettled retry has waited, or None when nothing waits."""
        if not self._since:
            return None
        return max(self._clock() - min(self._since.values()), 0.0)

    def began(self) -> int:
        ticket = next(self._ids)
        self._since[ticket] = self._clock()
        return ticket

    def settled(self, ticket: int) -> None:
        self._since.pop(ticket, None)


async def retry_until_settled(
    call: Callable[[], Awaitable[T]],
    sleep: Callable[[float], Awaitable[None]],
    waiting: Waiting | None = None,
) -> T:
    """`call()`, retried on retriable errors with capped backoff (and `Retry-After` honoured);
    `waiting` knows, from the first failure until it settles, that this call waits."""
    ticket: int | None = None

    def on_retry(_error: RetriableError, _attempt: int, _delay: float) -> None:
        nonlocal ticket
        if waiting is not None and ticket is None:
            ticket = waiting.began()

    try:
        return await with_retries(
            call,
            attempts=None,  # until settled
            base_delay=RETRY_BASE_DELAY,
            max_delay=RETRY_MAX_DELAY,
            sleep=sleep,
            on_retry=on_retry,
        )
    finally:
        if waiting is not None and ticket is not None:
            waiting.settled(ticket)
