"""Under Adobe's delivery faults the raw topic holds each `eventid` once, and Dotdigital ends as clean.

One seed and one traffic, run twice on fresh stacks (one after the other, to stay within two
cores): once delivered cleanly, once with duplicates, re-publishes under new ids and a 60 s
reorder window. The simulator signs with its own keys, so each worker fetches them from it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.commerce.store import Store
from sandbox.commerce.traffic import StoreTraffic
from streams.topics import RAW
from tests.integration.harness import (
    CLIENT_ID,
    Process,
    Stack,
    base_env,
    eventually,
    free_port,
    read_all,
    running_stack,
    start_cli,
)

pytestmark = pytest.mark.integration

SEED = 23
ORDERS = 40
ORDERS_PER_MINUTE = 60.0  # a 40 s day of orders, so a 60 s window reorders across all of it
SHIP_AFTER = 20.0
TIME_SCALE = 0.05  # real seconds per simulated second: the 60 s window costs 3 s
RETRY_TIME_SCALE = 0.01  # Adobe's first retry after 0.6 s instead of a minute
FAULTS = {
    "duplicate_rate": 0.3,
    "republish_rate": 0.1,
    "reorder_window_seconds": 60,
    "seed": SEED,
}
QUIET_SECONDS = 4.0  # nothing moved in the worker or Dotdigital for this long: settled
ORDERS_COLLECTION = "Orders"


@dataclass(frozen=True)
class EndState:
    """What the Dotdigital account holds, as its API shows it, keyed by contact email."""

    contacts: dict[str, dict[str, Any]]
    records: dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Run:
    """One run of the store against one stack, after everything settled."""

    status: dict[str, Any]
    delivered_ids: set[str]
    raw_ids: list[str]
    normalized: int
    state: EndState


def emitted_by_traffic() -> int:
    """How many events the store emits for this seed and traffic (the simulator is deterministic,
    so a store driven in-process tells when the subprocess's traffic has all been emitted)."""
    store = Store(seed=SEED, client_id=CLIENT_ID, keep_events=True)
    traffic = StoreTraffic(
        store, seed=SEED, orders_per_minute=ORDERS_PER_MINUTE, ship_after_seconds=SHIP_AFTER
    )
    for _ in traffic.run(ORDERS):
        pass
    return store.emitted


def _get(url: str) -> dict[str, Any] | None:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    answer: dict[str, Any] | None = response.json() if response.status_code == 200 else None
    return answer


def _post(url: str, body: dict[str, Any]) -> None:
    httpx.post(url, json=body, timeout=5).raise_for_status()


def start_store(stack: Stack, port: int, logs: Path) -> Process:
    args = [
        "sandbox", "commerce", "--port", str(port), "--webhook", stack.webhook,
        "--seed", str(SEED), "--orders", str(ORDERS),
        "--orders-per-minute", str(ORDERS_PER_MINUTE), "--ship-after", str(SHIP_AFTER),
        "--time-scale", str(TIME_SCALE), "--retry-time-scale", str(RETRY_TIME_SCALE),
        "--no-traffic",
    ]  # fmt: skip
    return start_cli("commerce", args, base_env(), logs)


def settled(stack: Stack) -> bool:
    """True once neither the worker's counters nor the Dotdigital account changed for
    `QUIET_SECONDS` and no import is running (polled through `eventually`, with its deadline)."""
    last: dict[str, Any] = {"snapshot": None, "since": time.monotonic()}

    def check() -> bool:
        worker = _get(f"{stack.worker_url}/ops/status") or {}
        stats = stack.dotdigital.admin("stats")
        snapshot = (worker.get("counts"), stats)
        now = time.monotonic()
        if snapshot != last["snapshot"]:
            last.update(snapshot=snapshot, since=now)
            return False
        importing = any(stats["active_imports"].values())
        return not importing and now - last["since"] >= QUIET_SECONDS

    return eventually(check, timeout=90, what="the worker and Dotdigital to go quiet")


def contacts_of(stack: Stack) -> dict[str, dict[str, Any]]:
    """Every contact through the change feed, paged by its marker. `contactId`, `created` and
    `updated` are left out: the sandbox numbers contacts in arrival order and stamps them with
    its wall clock, so they differ between any two runs; the rest is what a merchant sees."""
    contacts: dict[str, dict[str, Any]] = {}
    params = {
        "~modified": "gte::2000-01-01T00:00:00Z",
        "include": "dataFields,channelProperties,lists",
        "limit": "5000",
    }
    while True:
        response = stack.dotdigital.api.get("/contacts/v3", params=params)
        response.raise_for_status()
        page = response.json()
        for item in page["_items"]:
            email = item["identifiers"]["email"]
            contacts[email] = {
                name: value
                for name, value in item.items()
                if name not in {"contactId", "created", "updated"}
            }
        marker = page.get("_links", {}).get("next", {}).get("marker")
        if not marker:
            return contacts
        params["marker"] = marker


def end_state(stack: Stack) -> EndState:
    contacts = contacts_of(stack)
    records = {}
    for email in sorted(contacts):
        # `created`/`updated` are the sandbox's wall-clock stamps; key and JSON are the record.
        found = stack.dotdigital.records(email, ORDERS_COLLECTION)
        if found:
            records[email] = sorted(
                ({"key": r["key"], "json": r["json"]} for r in found), key=lambda r: str(r["key"])
            )
    return EndState(contacts, records)


def run_store(logs: Path, faults: dict[str, Any], expected_events: int) -> Run:
    port = free_port()
    commerce = f"http://127.0.0.1:{port}"
    with running_stack(
        logs,
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5",
        CARTWRIGHT_ADOBE__PUBLIC_KEY_HOST=commerce,
    ) as stack:
        store = start_store(stack, port, logs)
        try:
            eventually(lambda: _get(f"{commerce}/_sandbox/status"), what="the Commerce sandbox")
            _post(f"{commerce}/_sandbox/faults", faults)
            _post(f"{commerce}/_sandbox/traffic", {"orders": ORDERS})

            def delivered() -> dict[str, Any] | None:
                status = _get(f"{commerce}/_sandbox/status")
                done = status and status["events"] == expected_events and not status["pending"]
                return status if done else None

            status = eventually(delivered, timeout=90, what="every event delivered")
            settled(stack)
            fates = (_get(f"{commerce}/_sandbox/events") or {})["events"]
            raw = read_all(stack.bootstrap, RAW)
            counts = (_get(f"{stack.worker_url}/ops/status") or {})["counts"]
            return Run(
                status=status,
                delivered_ids={f["eventid"] for f in fates if f["outcome"] == "delivered"},
                raw_ids=[record["value"]["eventid"] for record in raw],
                normalized=sum(
                    counts.get(name, 0)
                    for name in (
                        "normalize.events",
                        "normalize.not_used",
                        "normalize.dead_lettered",
                    )
                ),
                state=end_state(stack),
            )
        finally:
            store.stop()
            print(f"--- commerce log: {store.log} ---\n{store.tail(30)}")


@pytest.fixture(scope="module")
def expected_events() -> int:
    return emitted_by_traffic()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, expected_events: int) -> Run:
    return run_store(tmp_path_factory.mktemp("clean"), {"seed": SEED}, expected_events)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory, expected_events: int, clean: Run) -> Run:
    # Depends on `clean` only so the two stacks run one after the other, in a fixed order.
    return run_store(tmp_path_factory.mktemp("faulty"), FAULTS, expected_events)


@pytest.fixture(scope="module")
def runs(clean: Run, faulty: Run) -> Iterator[tuple[Run, Run]]:
    yield clean, faulty


def test_raw_topic_holds_each_eventid_once_under_duplicates_and_reordering(
    runs: tuple[Run, Run],
) -> None:
    clean, faulty = runs
    assert faulty.status["duplicates"] > 0
    assert faulty.status["republished"] > 0
    assert faulty.status["dropped"] == 0
    # More POSTs than events: the duplicates really reached the webhook.
    assert faulty.status["delivered"] == faulty.status["created"] + (
        faulty.status["duplicates"] + faulty.status["republished"]
    )
    twice = {eventid: n for eventid, n in Counter(faulty.raw_ids).items() if n > 1}
    assert twice == {}
    # Nothing lost either: every id the store delivered (re-published ones included) is stored,
    # and the clean run's ids are the faulty run's originals.
    assert set(faulty.raw_ids) == faulty.delivered_ids
    assert len(faulty.raw_ids) == faulty.status["created"] + faulty.status["republished"]
    assert set(clean.raw_ids) <= set(faulty.raw_ids)
    assert len(clean.raw_ids) == len(set(clean.raw_ids)) == clean.status["created"]
    # The worker read every raw record, so the end states compared below are final.
    assert faulty.normalized == len(faulty.raw_ids)
    assert clean.normalized == len(clean.raw_ids)


def test_dotdigital_ends_as_a_clean_run_of_the_same_seed(runs: tuple[Run, Run]) -> None:
    clean, faulty = runs
    assert len(clean.state.contacts) >= ORDERS // 2
    assert sum(len(records) for records in clean.state.records.values()) >= ORDERS
    assert sorted(faulty.state.contacts) == sorted(clean.state.contacts)
    for email, contact in clean.state.contacts.items():
        assert faulty.state.contacts[email] == contact, email
    assert sorted(faulty.state.records) == sorted(clean.state.records)
    for email, records in clean.state.records.items():
        assert faulty.state.records[email] == records, email
