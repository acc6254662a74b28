"""Dotdigital's asynchronous imports: start one, poll its report on the injected clock, judge its end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Protocol, TypeVar

from connectors.clock import Clock, Sleep
from connectors.errors import ConnectorError, FatalError, RetriableError, SkippableError

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


@dataclass(frozen=True)
class UnknownImport:
    """How an import Dotdigital has no record of reads when polled: nothing left to wait for."""

    status: str = "Unknown"
    finished: bool = True
    failed: bool = False


class ImportHooks(Protocol):
    """Told before an import is asked for, of its id once Dotdigital answered with it (before the
    first poll), and of its end: a report said finished or failed, or the call to start it
    failed. In between, the import may still land."""

    async def starting(self) -> None: ...

    async def started(self, import_id: str) -> None: ...

    async def ended(self) -> None: ...


async def run_import(
    what: str,
    start: Callable[[], Awaitable[str]],
    report: Callable[[str], Awaitable[R]],
    *,
    slots: asyncio.Semaphore,
    fatal: Collection[str] = (),
    skippable: Collection[str] = (),
    poll_interval: float,
    timeout: float,  # noqa: ASYNC109 - a deadline on the injected clock, not asyncio's
    clock: Clock,
    sleep: Sleep,
    hooks: ImportHooks | None = None,
) -> R:
    """Start an import (`start()` returns its id) within `slots`, wait for its report, judge it.
    `hooks` hear of its id before the first poll and of its end.

    A report that ends failed raises `FatalError` for a status in `fatal` (an operator must act),
    `SkippableError` for one in `skippable` (the batch itself is bad), else `RetriableError`
    (imports are upserts, so the whole batch can be sent again). The status is the error's code.
    """
    async with slots:
        if hooks is not None:
            await hooks.starting()
        try:
            import_id = await start()
        except ConnectorError:
            # Refused or failed by kind (retriable, skippable, fatal): no import was started.
            if hooks is not None:
                await hooks.ended()
            raise
        if hooks is not None:
            await hooks.started(import_id)
        ended = await await_report(
            lambda: report(import_id),
            what=f"{what} {import_id}",
            poll_interval=poll_interval,
            timeout=timeout,
            clock=clock,
            sleep=sleep,
        )
        if hooks is not None:
            await hooks.ended()
    if not ended.failed:
        return ended
    message, code = f"{what} {import_id} ended {ended.status}", ended.status
    if code in fatal:
        raise FatalError(message, code=code)
    if code in skippable:
        # The import call itself answered 200: the job, not the request, refused the batch.
        raise SkippableError(message, status=200, code=code)
    raise RetriableError(message, code=code)


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
