"""Batches in flight at once, in order where they share a key, finished out of order otherwise."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class _Job:
    keys: frozenset[str]
    done: asyncio.Event = field(default_factory=asyncio.Event)


class OrderedInFlight:
    """Runs submitted jobs concurrently, at most `max_in_flight`; a job waits for every earlier
    job that shares one of its keys, so writes to one contact or record keep their order.

    A job's exception is kept in `failure` and stops further submissions; the job's own
    completion callback is then never called (its offsets are never acknowledged).
    """

    def __init__(
        self,
        max_in_flight: int,
        on_failure: Callable[[BaseException], Awaitable[None]] | None = None,
    ) -> None:
        self._on_failure = on_failure
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight: list[_Job] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.failure: BaseException | None = None

    @property
    def busy(self) -> int:
        return len(self._in_flight)

    async def submit(self, keys: Collection[str], job: Callable[[], Awaitable[None]]) -> None:
        """Start `job` once a slot is free; returns as soon as it started (or raises `failure`)."""
        if self.failure is not None:
            raise self.failure
        await self._slots.acquire()
        wanted = frozenset(keys)
        blockers = [earlier for earlier in self._in_flight if earlier.keys & wanted]
        entry = _Job(wanted)
        self._in_flight.append(entry)
        task = asyncio.create_task(self._run(entry, blockers, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, entry: _Job, blockers: list[_Job], job: Callable[[], Awaitable[None]]
    ) -> None:
        try:
            for earlier in blockers:
                await earlier.done.wait()
            if self.failure is None:
                await job()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - kept and re-raised to the submitter
            first = self.failure is None
            self.failure = self.failure or exc
            log.error("in-flight job failed: %s", exc)
            if first and self._on_failure is not None:
                await self._on_failure(exc)
        finally:
            entry.done.set()
            self._in_flight.remove(entry)
            self._slots.release()

    async def drain(self) -> None:
        """Wait for every job in flight; re-raise the first failure."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self.failure is not None:
            raise self.failure
