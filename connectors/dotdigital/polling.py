"""Waiting for asynchronous Dotdigital imports: poll a report on the injected clock until done."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from connectors.dotdigital.clock import Clock, Sleep
from connectors.errors import RetriableError

logger = logging.getLogger(__name__)


class ImportReport(Protocol):
    """What polling needs from an import report."""

    @property
    def status(self) -> str: ...
    @property
    def finished(self) -> bool: ...
    @property
    def failed(self) -> bool: ...


R = TypeVar("R", bound=ImportReport)


async def await_report(
    fetch: Callable[[], Awaitable[R]],
    *,
    what: str,
    poll_interval: float,
    timeout: float,  # noqa: ASYNC109 - a deadline on the injected clock, not asyncio's
    clock: Clock,
    sleep: Sleep,
) -> R:
    """Poll `fetch()` every `poll_interval` until the report is finished or failed.

    Waits before each poll (an import is never done at once). A retriable error while polling
    does not abandon the running import; the poll is simply repeated. Raises `RetriableError`
    when `timeout` seconds pass on `clock` without an end.
    """
    deadline = clock() + timeout
    wait = poll_interval
    status = "not yet polled"
    while clock() + wait <= deadline:
        await sleep(wait)
        try:
            report = await fetch()
        except RetriableError as error:
            wait = error.retry_after if error.retry_after is not None else poll_interval
            logger.info("import poll failed, polling again", extra={"import": what})
            continue
        if report.finished or report.failed:
            return report
        status, wait = report.status, poll_interval
    raise RetriableError(f"{what} still {status} after {timeout}s")
