"""How long the worker keeps retrying a call that failed for a passing reason: as long as it takes.

The partition waits and nothing is dropped; a refusal for good (SkippableError) or a refused
account (FatalError) ends the wait at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from connectors.retry import with_retries

T = TypeVar("T")

RETRY_BASE_DELAY = 1.0
RETRY_MAX_DELAY = 60.0


async def retry_until_settled(
    call: Callable[[], Awaitable[T]], sleep: Callable[[float], Awaitable[None]]
) -> T:
    """`call()`, retried on retriable errors with capped backoff (and `Retry-After` honoured)."""
    return await with_retries(
        call,
        attempts=None,  # until settled
        base_delay=RETRY_BASE_DELAY,
        max_delay=RETRY_MAX_DELAY,
        sleep=sleep,
    )
