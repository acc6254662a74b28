"""Several workers behind one webhook URL: an Adobe I/O event stored by any worker is a duplicate at
every worker (followed as it is stored, or read back when a worker starts), so the raw topic holds
each event once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.contract.topics import RAW
from tests.support.orders import new_order, order_event
from tests.support.stack import (
    Stack,
    accepted,
    eventually,
    free_port,
    read_all,
    running_stack,
    start_worker,
    worker_url,
)

pytestmark = pytest.mark.integration

# Adobe retries a delivery after a failure or its 10 s timeout: a follower must be faster.
ADOBE_RETRY_AFTER = 10.0
HOOK = "/webhooks/adobe-commerce"


@dataclass
class Worker:
    """One worker of the group, by its web address."""

    url: str

    @property
    def webhook(self) -> str:
        return f"{self.url}{HOOK}"

    def counts(self) -> dict[str, int]:
        try:
            status: dict[str, Any] = httpx.get(f"{self.url}/ops/status", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return {}
        counts: dict[str, int] = status.get("counts", {})
        return counts

    def seeded(self) -> bool:
        return "webhook.seeded_ids" in self.counts()

    def followed(self) -> int:
        return self.counts().get("webhook.followed_ids", 0)

    def follow_lag(self) -> dict[str, float]:
        status = httpx.get(f"{self.url}/ops/status", timeout=2).json()
        lag: dict[str, float] = status["latencies"]["webhook.follow_lag"]
        return lag


@dataclass
class Group:
    stack: Stack
    logs: Path
    first: Worker
    second: Worker


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Group]:
    """Two workers in one group, each with its own webhook, both started before anything is
    stored (a join once the tables hold data is issue 12's table recovery, not this test's)."""
    logs = tmp_path_factory.mktemp("shared-dedup-logs")
    # Short order batches, so a stopped worker is not left holding a batch until it is killed.
    with running_stack(logs, CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5") as stack:
        first = Worker(stack.worker_url)
        port = free_port()
        start_worker(stack, logs, "worker-2", web_port=port)
        second = Worker(worker_url(port))
        for worker in (first, second):
            eventually(worker.seeded, timeout=60, what=f"the seed of {worker.url}")
        yield Group(stack, logs, first, second)


def deliver_each(stack: Stack, events: list[dict[str, Any]], to: Worker) -> list[dict[str, Any]]:
    """One signed delivery per event to one worker's webhook; its answers."""
    return [accepted(stack.deliver(event, webhook=to.webhook)) for event in events]


def stored_once(stack: Stack, events: list[dict[str, Any]]) -> dict[str, int]:
    """How often each event is on the raw topic."""
    stored = Counter(record["value"].get("eventid") for record in read_all(stack.bootstrap, RAW))
    return {event["eventid"]: stored[event["eventid"]] for event in events}


def stored_more_than_once(stack: Stack) -> dict[str, int]:
    """Every event on the raw topic stored more than once, with how often."""
    stored = Counter(record["value"].get("eventid") for record in read_all(stack.bootstrap, RAW))
    return {event_id: count for event_id, count in stored.items() if count > 1}


def orders(count: int) -> list[dict[str, Any]]:
    return [order_event(new_order()) for _ in range(count)]


STORED = {"accepted": 1, "duplicates": 0, "dead_lettered": 0}
DUPLICATE = {"accepted": 0, "duplicates": 1, "dead_lettered": 0}


def test_an_event_stored_by_one_worker_is_a_duplicate_at_the_other(group: Group) -> None:
    stack, first, second = group.stack, group.first, group.second
    events = orders(6)
    followed_before = second.followed()

    assert deliver_each(stack, events, to=first) == [STORED] * len(events)
    eventually(
        lambda: second.followed() >= followed_before + len(events),
        timeout=30,
        what="the second worker following what the first stored",
    )
    redelivered = deliver_each(stack, events, to=second)

    assert redelivered == [DUPLICATE] * len(events)
    assert stored_once(stack, events) == {event["eventid"]: 1 for event in events}
    assert second.follow_lag()["max"] < ADOBE_RETRY_AFTER


def test_either_way_and_within_one_delivery(group: Group) -> None:
    stack, first, second = group.stack, group.first, group.second
    at_second, fresh = orders(3), orders(1)
    followed_before = first.followed()

    assert deliver_each(stack, at_second, to=second) == [STORED] * len(at_second)
    eventually(
        lambda: first.followed() >= followed_before + len(at_second),
        timeout=30,
        what="the first worker following what the second stored",
    )
    # Adobe may batch a retried event with a new one.
    mixed = accepted(stack.deliver([*at_second, *fresh], webhook=first.webhook))

    assert mixed == {"accepted": 1, "duplicates": 3, "dead_lettered": 0}
    assert stored_once(stack, at_second + fresh) == {
        event["eventid"]: 1 for event in at_second + fresh
    }


def test_a_worker_started_after_the_events_were_stored_knows_them(group: Group) -> None:
    stack = group.stack
    earlier = orders(3) + orders(2)
    assert deliver_each(stack, earlier[:3], to=group.first) == [STORED] * 3
    assert deliver_each(stack, earlier[3:], to=group.second) == [STORED] * 2
    # A deploy: every worker stopped, a new one started (fresh processes only: see the fixture).
    for name in ("worker", "worker-2"):
        next(p for p in stack.processes if p.name == name).stop()
    port = free_port()
    start_worker(stack, group.logs, "worker-3", web_port=port)
    restarted = Worker(worker_url(port))

    eventually(restarted.seeded, timeout=60, what="the seed of the restarted worker")
    redelivered = deliver_each(stack, earlier, to=restarted)

    assert redelivered == [DUPLICATE] * len(earlier)
    assert stored_once(stack, earlier) == {event["eventid"]: 1 for event in earlier}
    assert stored_more_than_once(stack) == {}
