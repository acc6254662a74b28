"""Ingest hardening on the real broker: a slow broker gets Adobe a 503 in time; the journal pull."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.broker import EmbeddedBroker
from tests.support.orders import email_of, new_order, order_event
from tests.support.stack import (
    Stack,
    accepted,
    base_env,
    eventually,
    free_port,
    read_all,
    running_stack,
    start_cli,
)

pytestmark = pytest.mark.integration

ADOBE_DEADLINE_SECONDS = 10.0


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Pausing the broker would disturb the shared stack's other tests."""
    with running_stack(
        tmp_path_factory.mktemp("ingest-logs"), CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5"
    ) as stack:
        yield stack


def test_a_stalled_broker_gets_adobe_a_503_within_its_deadline_then_the_retry_lands(
    own_stack: Stack,
) -> None:
    assert own_stack.broker_pid is not None
    accepted(own_stack.deliver(order_event(new_order())))
    order = new_order()
    event = order_event(order)

    os.kill(own_stack.broker_pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = own_stack.deliver(event)
        took = time.monotonic() - started
    finally:
        os.kill(own_stack.broker_pid, signal.SIGCONT)

    assert response.status_code == 503
    assert took < ADOBE_DEADLINE_SECONDS
    retried = eventually(
        lambda: (answer := own_stack.deliver(event)).status_code == 200 and answer,
        timeout=60,
        what="the retried delivery to be stored",
    )
    assert retried
    eventually(
        lambda: own_stack.dotdigital.record(email_of(order), "Orders", order.increment_id),
        timeout=90,
        what="the retried order in Dotdigital",
    )


@pytest.fixture(scope="module")
def journal_store(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, str], str]]:
    logs = tmp_path_factory.mktemp("journal-logs")
    with EmbeddedBroker(port=free_port()) as broker:
        port = free_port()
        env = base_env(
            CARTWRIGHT_KAFKA__BOOTSTRAP=broker.bootstrap, CARTWRIGHT_KAFKA__PARTITIONS="4"
        )
        sandbox = start_cli(
            "commerce",
            ["sandbox", "commerce", "--port", str(port), "--no-traffic", "--time-scale", "0.01"],
            env,
            logs,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            eventually(lambda: _status(base), timeout=60, what="the Commerce sandbox")
            yield broker.bootstrap, env, base
        finally:
            sandbox.stop()


def _status(base: str) -> dict[str, Any] | None:
    try:
        answer: dict[str, Any] = httpx.get(f"{base}/_sandbox/status", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None
    return answer


def _journal_ids(base: str) -> list[str]:
    ids: list[str] = []
    since: str | None = None
    while True:
        params = {"limit": "500", **({"since": since} if since else {})}
        response = httpx.get(f"{base}/_journal/commerce", params=params, timeout=10)
        if response.status_code == 204:
            return ids
        page = response.json()
        ids.extend(entry["event"]["eventid"] for entry in page["events"])
        since = page["_page"]["last"]


def test_journal_pull_publishes_every_event_once_and_resumes_from_its_position(
    journal_store: tuple[str, dict[str, str], str], tmp_path: Path
) -> None:
    bootstrap, env, base = journal_store
    httpx.post(f"{base}/_sandbox/traffic", json={"orders": 12}, timeout=10).raise_for_status()

    def settled() -> list[str] | None:
        first = _journal_ids(base)
        return first if first and first == _journal_ids(base) and len(first) > 20 else None

    eventually(settled, timeout=120, what="the store's traffic")
    journal = _journal_ids(base)
    command = [
        sys.executable,
        "-m",
        "streams",
        "ingest",
        "journal",
        "--once",
        "--url",
        f"{base}/_journal/commerce",
        "--checkpoint",
        str(tmp_path / "journal.json"),
    ]

    first = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    again = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=True
    )

    raw = read_all(bootstrap, "commerce.raw.v1")
    stored = [record["value"]["eventid"] for record in raw]
    assert f"journal: {len(set(journal))} events published" in first.stdout
    assert "journal: 0 events published" in again.stdout
    assert sorted(stored) == sorted(set(journal))
