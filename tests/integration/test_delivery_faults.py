"""Under Adobe's delivery faults the raw topic holds each `eventid` once, and Dotdigital ends as clean.

One seed and one traffic, run twice on fresh stacks (one after the other, to stay within two
cores): once delivered cleanly, once with duplicates, re-publishes under new ids and a 60 s
reorder window. The simulator signs with its own keys, so each worker fetches them from it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from pprint import pformat
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from sandbox.commerce.simulator.store import Store
from sandbox.commerce.simulator.traffic import StoreTraffic
from schemas.contract.topics import (
    CONSENT,
    DEADLETTER,
    ENROLMENTS,
    EXCEPTIONS,
    IMPORTS,
    PRODUCTS,
    RAW,
    TRAIL,
)
from streams.runtime.catch_up import true_ends
from streams.runtime.topics import ALL_TOPICS
from streams.settings import KafkaSettings
from tests.support.accounts import CLIENT_ID
from tests.support.stack import (
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

SEED = 41  # its 60 s window delivers a pre-change customer save and order after an email change
ORDERS = 40
ORDERS_PER_MINUTE = 60.0  # a 40 s day of orders, so a 60 s window reorders across all of it
SHIP_AFTER = 20.0
TIME_SCALE = 0.1  # real seconds per simulated second: the 60 s window costs 6 s
RETRY_TIME_SCALE = 0.01  # Adobe's first retry after 0.6 s instead of a minute
FAULTS = {
    "duplicate_rate": 0.3,
    "republish_rate": 0.1,
    "reorder_window_seconds": 60,
    "seed": SEED,
}
GROUP = KafkaSettings().app_id  # the worker's consumer group (the stacks keep the default)
# What the worker's group reads; exceptions, dead letters and `consent.v1` are only written, the
# enrolment ledger is read without the group.
# What the worker's group reads; the incident topics, the public consent topic, the journals
# (enrolments, imports) and the sink's trail are written for others (and for the journals' own
# reads, outside the group), and the products topic is read whole by every worker, outside it.
CONSUMED = tuple(
    topic
    for topic in ALL_TOPICS
    if topic not in {EXCEPTIONS, DEADLETTER, CONSENT, ENROLMENTS, IMPORTS, TRAIL, PRODUCTS}
)


@dataclass(frozen=True)
class EndState:
    """What the Dotdigital account holds, as its API shows it, keyed by contact email."""

    contacts: dict[str, dict[str, Any]]
    records: dict[str, list[dict[str, Any]]]  # "<email> <collection>" → its records by key


@dataclass(frozen=True)
class Run:
    """One run of the store against one stack, after everything settled."""

    status: dict[str, Any]
    delivered_ids: set[str]
    raw_ids: list[str]
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


async def _backlog(bootstrap: str, group: str) -> dict[str, int]:
    """Per consumed topic, how many records the worker's group has not committed yet. Read in
    pipeline order, so a stage's output is counted after its input was seen committed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    backlog: dict[str, int] = {}
    try:
        await consumer.topics()
        for topic in CONSUMED:
            partitions = consumer.partitions_for_topic(topic) or set()
            assignment = [TopicPartition(topic, p) for p in sorted(partitions)]
            # Read, not asked: Tansu reports an end one batch short.
            ends = await true_ends(bootstrap, assignment)
            backlog[topic] = 0
            for tp in assignment:
                backlog[topic] += max(ends[tp] - (await consumer.committed(tp) or 0), 0)
    finally:
        await consumer.stop()
    return backlog


def settle(stack: Stack) -> None:
    """Wait until the worker has committed every record of every topic it consumes (the sink
    lanes commit only once Dotdigital took a write) and no import is running, twice in a row:
    a stage's output may reach the broker just after its input was committed."""
    drained: list[bool] = []

    def check() -> bool:
        backlog = asyncio.run(_backlog(stack.bootstrap, GROUP))
        importing = stack.dotdigital.admin("stats")["active_imports"]
        drained.append(not any(backlog.values()) and not any(importing.values()))
        return drained[-2:] == [True, True]

    eventually(check, timeout=150, what="the worker to commit everything it consumes")


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
    collections = sorted(stack.dotdigital.admin("stats")["collections"])
    records: dict[str, list[dict[str, Any]]] = {}
    for email in sorted(contacts):
        for collection in collections:
            # `created`/`updated` are the sandbox's wall-clock stamps; key and JSON are the record.
            found = [
                {"key": r["key"], "json": r["json"]}
                for r in stack.dotdigital.records(email, collection)
            ]
            if found:
                key = f"{email} {collection}"
                records[key] = sorted(found, key=lambda r: str(r["key"]))
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
            settle(stack)
            fates = (_get(f"{commerce}/_sandbox/events") or {})["events"]
            raw = read_all(stack.bootstrap, RAW)
            return Run(
                status=status,
                delivered_ids={f["eventid"] for f in fates if f["outcome"] == "delivered"},
                raw_ids=[record["value"]["eventid"] for record in raw],
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
def runs(clean: Run, faulty: Run) -> tuple[Run, Run]:
    return clean, faulty


def test_raw_topic_holds_each_eventid_once_under_duplicates_and_reordering(
    runs: tuple[Run, Run],
) -> None:
    clean, faulty = runs
    print(f"clean: {clean.status}\nfaulty: {faulty.status}")
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


def _differences(clean: dict[str, Any], faulty: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {"clean": clean.get(key), "faulty": faulty.get(key)}
        for key in sorted(clean.keys() | faulty.keys())
        if clean.get(key) != faulty.get(key)
    }


def test_dotdigital_ends_as_a_clean_run_of_the_same_seed(runs: tuple[Run, Run]) -> None:
    clean, faulty = runs
    orders = [key for key in clean.state.records if key.endswith(" Orders")]
    assert len(clean.state.contacts) >= ORDERS // 2
    assert sum(len(clean.state.records[key]) for key in orders) >= ORDERS
    compared = sum(len(records) for records in clean.state.records.values())
    print(f"compared {len(clean.state.contacts)} contacts and {compared} records")
    differences = {
        "contacts": _differences(clean.state.contacts, faulty.state.contacts),
        "records": _differences(clean.state.records, faulty.state.records),
    }
    assert differences == {"contacts": {}, "records": {}}, pformat(differences, width=100)
