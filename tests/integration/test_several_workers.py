"""Three workers on one group: the Dotdigital budget split among them, and the leader's
suppression-feed poller moving to another worker when the leader is killed."""

from __future__ import annotations

import itertools
import os
import signal
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.commerce.simulator.store import Store
from tests.support.accounts import CLIENT_ID
from tests.support.stack import (
    Process,
    Stack,
    accepted,
    eventually,
    free_port,
    read_topic,
    running_stack,
    start_worker,
    worker_url,
)

pytestmark = pytest.mark.integration

OBSERVED = "cartwright.consent.observed.v1"
# The account's budgets, enforced by the sandbox and configured on every worker.
ACCOUNT = {"low": 30, "medium": 120, "high": 60}
FEED_RESERVE = 10
ORDERS = 45


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("several-workers-logs")


@pytest.fixture(scope="module")
def group(logs: Path) -> Iterator[tuple[Stack, dict[str, str]]]:
    """The stack's worker and two more on the same group: worker name -> its base URL."""
    with running_stack(
        logs,
        # Faust's sticky assignor gives a third worker nothing of 4 partitions held 2 and 2.
        CARTWRIGHT_KAFKA__PARTITIONS="6",
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="2",
        CARTWRIGHT_CONSENT__POLL_INTERVAL="12",
        CARTWRIGHT_DOTDIGITAL__LOW_PER_MINUTE=str(ACCOUNT["low"]),
        CARTWRIGHT_DOTDIGITAL__MEDIUM_PER_MINUTE=str(ACCOUNT["medium"]),
        CARTWRIGHT_DOTDIGITAL__HIGH_PER_MINUTE=str(ACCOUNT["high"]),
        CARTWRIGHT_DOTDIGITAL__FEED_RESERVE_PER_MINUTE=str(FEED_RESERVE),
    ) as stack:
        stack.dotdigital.admin("limits", {"tier_budgets": ACCOUNT})
        urls = {"worker": stack.worker_url}
        for name in ("worker-2", "worker-3"):
            port = free_port()
            start_worker(stack, logs, name, web_port=port)
            urls[name] = worker_url(port)
        yield stack, urls


def status(url: str) -> dict[str, Any] | None:
    try:
        response = httpx.get(f"{url}/ops/status", timeout=2)
    except httpx.HTTPError:
        return None
    found: dict[str, Any] = response.json()
    return found if response.status_code == 200 else None


def settled(urls: dict[str, str]) -> dict[str, dict[str, Any]] | None:
    """Every worker's status, once the group agrees: one leader, write shares adding up to 1."""
    found = {name: status(url) for name, url in urls.items()}
    statuses = {name: s for name, s in found.items() if s and s.get("dotdigital_budget")}
    if len(statuses) != len(urls):
        return None
    budgets = [s["dotdigital_budget"] for s in statuses.values()]
    leaders = [s for s in statuses.values() if s["leader"]]
    if len(leaders) != 1 or not leaders[0]["dotdigital_budget"]["leader"]:
        return None
    if sum(Fraction(b["share"]) for b in budgets) != 1:
        return None
    return statuses


def budget_sums(statuses: dict[str, dict[str, Any]]) -> dict[str, float]:
    per_minute = [s["dotdigital_budget"]["per_minute"] for s in statuses.values()]
    return {tier: round(sum(p[tier] for p in per_minute), 6) for tier in ACCOUNT}


def leader_of(statuses: dict[str, dict[str, Any]]) -> str:
    (name,) = [name for name, s in statuses.items() if s["leader"]]
    return name


def orders_in_dotdigital(stack: Stack) -> int:
    return int(stack.dotdigital.admin("stats")["collections"].get("Orders", 0))


def observed_unsubscribe(stack: Stack, email: str) -> list[dict[str, Any]]:
    """The feed's observations of `email`'s unsubscribe, once there is one."""

    def mine(record: dict[str, Any]) -> bool:
        value = record["value"]
        return bool(record["key"] == email and value["source"] == "dotdigital")

    seen = read_topic(stack.bootstrap, OBSERVED, lambda rs: any(mine(r) for r in rs), timeout=90)
    return [r["value"] for r in seen if mine(r)]


def test_the_budget_is_split_and_the_poller_moves_when_the_leader_is_killed(
    group: tuple[Stack, dict[str, str]],
) -> None:
    stack, urls = group
    statuses = eventually(lambda: settled(urls), timeout=90, what="one leader, shares adding up")
    assert budget_sums(statuses) == ACCOUNT
    assert all(Fraction(s["dotdigital_budget"]["share"]) < 1 for s in statuses.values())

    # A burst of placed and shipped orders, spread over the three webhooks.
    shop = Store(seed=uuid.uuid4().int % 10_000, client_id=CLIENT_ID)
    webhooks = itertools.cycle(f"{url}/webhooks/adobe-commerce" for url in urls.values())
    orders = []
    for n in range(ORDERS):
        email = f"burst{n}.{uuid.uuid4().hex[:8]}@example.com"
        start = len(shop.events)
        order = shop.place_order(
            shop.guest(email, "Ada", "Lovelace"), [shop.catalogue.line("24-UG06", 1)]
        )
        shop.clock.advance(60)
        shop.invoice(order)
        shop.ship(order)
        for event in list(shop.events)[start:]:
            accepted(stack.deliver(event, webhook=next(webhooks)))
        orders.append((email, order.increment_id))
    # Counted through the sandbox's admin page: reads through its API would spend the account's
    # Medium budget alongside the workers.
    eventually(
        lambda: orders_in_dotdigital(stack) == ORDERS,
        timeout=150,
        what=f"all {ORDERS} orders in Dotdigital",
    )

    # The leader polls: an unsubscribe in Dotdigital is observed.
    before, after = orders[0][0], orders[1][0]
    stack.dotdigital.admin(f"contacts/{before}/status", {"status": "unsubscribed"})
    (first, *_) = observed_unsubscribe(stack, before)
    assert first["status"] == "unsubscribed"

    # The leader dies; another worker leads and polls from the checkpoint in Kafka.
    leader = leader_of(statuses)
    (process,) = [p for p in stack.processes if p.name == leader]
    kill(process)
    survivors = {name: url for name, url in urls.items() if name != leader}
    statuses = eventually(lambda: settled(survivors), timeout=90, what="a new leader")
    assert budget_sums(statuses) == ACCOUNT

    stack.dotdigital.admin(f"contacts/{after}/status", {"status": "unsubscribed"})
    (moved, *_) = observed_unsubscribe(stack, after)
    assert moved["status"] == "unsubscribed"
    # The new leader re-read the checkpoint's overlap: the earlier row again, the same event.
    assert len({change["event_id"] for change in observed_unsubscribe(stack, before)}) == 1

    stats = stack.dotdigital.admin("stats")
    assert stats["rate_limited"] == 0, stats
    print(f"Dotdigital calls by tier: {stats['calls']}; budgets now {budget_sums(statuses)}")


def kill(process: Process) -> None:
    os.kill(process.popen.pid, signal.SIGKILL)
    process.popen.wait(timeout=30)
