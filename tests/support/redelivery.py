"""Adobe I/O as the restart tests need it: a thread delivering signed events in order, each one
again and again until a worker answers 2xx, to one webhook or round-robin over several (as a
load balancer in front of several workers would)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.stack import Stack

# Adobe retries after minutes; scaled down so a restart test sees many refused attempts.
RETRY_PAUSE = 0.3


@dataclass
class Attempts:
    """What became of the deliveries so far."""

    accepted: int = 0
    refused: int = 0  # connection refused or reset, no answer, or a non-2xx status
    statuses: dict[int, int] = field(default_factory=dict)


class Redelivery:
    """Delivers what it is given, in order, each event until 2xx; `idle` once all got a 2xx."""

    def __init__(self, stack: Stack, webhooks: list[str] | None = None) -> None:
        self._stack = stack
        self._webhooks = webhooks or [stack.webhook]
        self._queue: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._busy = False
        self._stopping = threading.Event()
        self._turn = 0
        self.attempts = Attempts()
        # Each event's accepting answer, by its event id: which webhook, and what it said.
        self.answers: dict[str, tuple[str, str]] = {}
        self._thread = threading.Thread(target=self._run, name="adobe-io", daemon=True)
        self._thread.start()

    def send(self, events: Iterable[dict[str, Any]]) -> None:
        with self._wake:
            self._queue.extend(events)
            self._wake.notify()

    def idle(self) -> bool:
        """Every event given so far was answered 2xx."""
        with self._lock:
            return not self._queue and not self._busy

    def delivered(self) -> int:
        with self._lock:
            return self.attempts.accepted

    def has_delivered(self, count: int) -> bool:
        return self.delivered() >= count

    def close(self) -> None:
        self._stopping.set()
        with self._wake:
            self._wake.notify()
        self._thread.join(timeout=30)

    def _next(self) -> dict[str, Any] | None:
        with self._wake:
            while not self._queue and not self._stopping.is_set():
                self._wake.wait()
            if self._stopping.is_set():
                return None
            self._busy = True
            return self._queue.popleft()

    def _run(self) -> None:
        while (event := self._next()) is not None:
            while not self._attempt(event):
                if self._stopping.wait(RETRY_PAUSE):
                    return
            with self._lock:
                self._busy = False

    def _attempt(self, event: dict[str, Any]) -> bool:
        webhook = self._webhooks[self._turn % len(self._webhooks)]
        self._turn += 1
        body = ""
        try:
            response = self._stack.deliver(event, webhook=webhook)
            status, body = response.status_code, response.text
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.attempts.statuses[status] = self.attempts.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                self.attempts.accepted += 1
                self.answers[str(event.get("eventid"))] = (webhook, body)
                return True
            self.attempts.refused += 1
            return False
