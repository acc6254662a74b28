"""Between the store and the webhook: Commerce's 64 KB drop, the journal, and delivery by due time."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox.commerce.adobe_io.delivery import Deliverer, Payload
from sandbox.commerce.adobe_io.faults import FaultDice
from sandbox.commerce.adobe_io.journal import Journal


@dataclass
class OutboxCounts:
    created: int = 0
    not_created: int = 0  # over 64 KB: Commerce never wrote them
    duplicates: int = 0
    republished: int = 0
    observed: int = 0  # storefront events


class Outbox:
    """Takes every event the store emits: journals it, rolls the delivery faults, and hands each
    planned delivery to the deliverer once due (single, or batches of up to `batch_size`).

    Fault delays are simulated seconds; `time_scale` turns them into real ones for `clock`/`sleep`.
    """

    def __init__(
        self,
        *,
        dice: FaultDice,
        journal: Journal,
        storefront: Journal,
        deliverer: Deliverer | None = None,
        storefront_url: str | None = None,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.dice = dice
        self.journal = journal
        self.storefront = storefront
        self.deliverer = deliverer
        self._storefront_url = storefront_url
        self._scale = time_scale
        self._clock = clock
        self._sleep = sleep
        self._queue: list[tuple[float, int, dict[str, Any]]] = []
        self._sequence = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wakeup = asyncio.Event()
        self.counts = OutboxCounts()

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._tasks)

    def publish(self, event: dict[str, Any]) -> None:
        """A store listener: Commerce creates the event (or not), I/O fans it out."""
        if self.dice.too_big(event):
            self.counts.not_created += 1
            return
        self.counts.created += 1
        for planned in self.dice.plan(event):
            if planned.copy == "duplicate":
                self.counts.duplicates += 1
            elif planned.copy == "republish":
                self.counts.republished += 1
            if planned.copy != "duplicate":
                self.journal.append(planned.event)
            if self.deliverer is not None:
                due = self._clock() + planned.delay * self._scale
                heapq.heappush(self._queue, (due, self._sequence, planned.event))
                self._sequence += 1
        self._wakeup.set()

    def observe(self, event: dict[str, Any]) -> None:
        """A store listener for storefront events: journaled, and beaconed when a URL is set."""
        self.counts.observed += 1
        self.storefront.append(event)
        if self.deliverer is not None and self._storefront_url:
            self._spawn(self.deliverer.beacon(self._storefront_url, event))

    def clear(self) -> None:
        """Forget deliveries not yet sent (those in flight finish)."""
        self._queue.clear()
        self.counts = OutboxCounts()

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send_due(self) -> None:
        assert self.deliverer is not None
        now = self._clock()
        due: list[dict[str, Any]] = []
        while self._queue and self._queue[0][0] <= now:
            due.append(heapq.heappop(self._queue)[2])
        size = self.dice.settings.batch_size
        for start in range(0, len(due), size):
            chunk = due[start : start + size]
            payload: Payload = chunk if size > 1 else chunk[0]
            # Adobe delivers concurrently; a retried event must not hold up the rest.
            self._spawn(self.deliverer.deliver(payload))

    async def drain(self) -> None:
        """Deliver everything queued, waiting for each due time with the injected sleep."""
        while self._queue or self._tasks:
            if not self._queue:
                await asyncio.gather(*self._tasks)
                continue
            wait = self._queue[0][0] - self._clock()
            if wait > 0:
                await self._sleep(wait)
                continue
            self._send_due()
            await asyncio.sleep(0)

    async def run(self) -> None:
        """Deliver for ever, as events arrive and fall due (the server's background task)."""
        while True:
            self._wakeup.clear()
            if not self._queue:
                await self._wakeup.wait()
                continue
            wait = self._queue[0][0] - self._clock()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), wait)
                continue
            self._send_due()

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
