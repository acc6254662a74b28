"""The enrolment ledger on the real broker: a worker killed between an enrolment call and its
offset commit, restarted, enrols nobody twice; the ledger topic is read to its true end."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from sandbox.commerce.simulator.store import Store
from streams.runtime.catch_up import Record, read_to_end
from tests.support.accounts import CLIENT_ID
from tests.support.stack import (
    ORDER_FULFILLED_PROGRAM,
    Stack,
    accepted,
    enrolments_of,
    eventually,
    read_topic,
    running_stack,
    start_worker,
)

pytestmark = pytest.mark.integration

EXCEPTIONS = "cartwright.exceptions.v1"


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ledger-logs")


@pytest.fixture(scope="module")
def ledgered(logs: Path) -> Iterator[Stack]:
    """A stack of its own (its worker is killed), whose Dotdigital calls wait long enough for a
    held enrolment answer never to become a client timeout and a retry."""
    with running_stack(
        logs,
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5",
        CARTWRIGHT_DOTDIGITAL__TIMEOUT="120",
        CARTWRIGHT_PROGRAMS__ORDER_FULFILLED=str(ORDER_FULFILLED_PROGRAM),
    ) as stack:
        stack.dotdigital.admin("programs", {"programs": {str(ORDER_FULFILLED_PROGRAM): True}})
        yield stack


def fulfilled_order(stack: Stack, shop: Store, name: str) -> tuple[str, str]:
    """A guest's order, invoiced and shipped, delivered to the worker: (email, order number)."""
    email = f"{name}.{uuid.uuid4().hex[:10]}@example.com"
    start = len(shop.events)
    order = shop.place_order(
        shop.guest(email, "Ada", "Lovelace"), [shop.catalogue.line("24-UG06", 1)]
    )
    shop.clock.advance(60)
    shop.invoice(order)
    shop.clock.advance(60)
    shop.ship(order)
    for event in list(shop.events)[start:]:
        accepted(stack.deliver(event))
    return email, order.increment_id


def interruptions(stack: Stack, number: str) -> list[dict[str, Any]]:
    def found(seen: list[dict[str, Any]]) -> bool:
        return any(mine(r["value"]) for r in seen)

    def mine(value: dict[str, Any]) -> bool:
        return value["reason"] == "enrolment_interrupted" and number in value["subject"]

    records = read_topic(stack.bootstrap, EXCEPTIONS, found, timeout=120)
    return [r["value"] for r in records if mine(r["value"])]


def test_a_worker_killed_between_enrolment_and_commit_enrols_once_after_restart(
    ledgered: Stack, logs: Path
) -> None:
    stack = ledgered
    shop = Store(seed=uuid.uuid4().int % 10_000, client_id=CLIENT_ID)
    stack.dotdigital.admin("faults", {"hold_enrolment_answers": True})
    email, number = fulfilled_order(stack, shop, "killed")

    # Dotdigital has the enrolment; the worker is still waiting for the answer.
    eventually(
        lambda: enrolments_of(stack, email) == [ORDER_FULFILLED_PROGRAM],
        timeout=120,
        what="the enrolment in Dotdigital",
    )
    (worker,) = [p for p in stack.processes if p.name == "worker"]
    os.kill(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait(timeout=30)
    stack.dotdigital.admin("faults", {})

    start_worker(stack, logs, "worker-restarted")
    (interrupted, *_) = interruptions(stack, number)
    marker, _ = fulfilled_order(stack, shop, "marker")
    eventually(
        lambda: enrolments_of(stack, marker) == [ORDER_FULFILLED_PROGRAM],
        timeout=120,
        what="the marker's enrolment after the restart",
    )

    assert enrolments_of(stack, email) == [ORDER_FULFILLED_PROGRAM]  # once, not twice
    assert interrupted["severity"] == "warning"
    assert f"program {ORDER_FULFILLED_PROGRAM}" in interrupted["message"]
    assert number in interrupted["message"]
    assert email not in interrupted["message"]  # masked
    assert len(stack.dotdigital.admin("enrolments")["enrolments"]) == 2


async def test_the_ledger_topic_is_read_to_its_true_end(ledgered: Stack) -> None:
    topic = f"scratch.catch-up.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=ledgered.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=ledgered.bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for n in range(3):  # single records, then batches whose end the broker reports low
            await producer.send_and_wait(topic, f"one-{n}".encode(), partition=n % 2)
        for partition in (0, 1):
            batch = [
                await producer.send(topic, f"batch-{partition}-{n}".encode(), partition=partition)
                for n in range(5)
            ]
            await asyncio.gather(*batch)
    finally:
        await producer.stop()

    seen: list[bytes] = []

    def keep(record: Record) -> None:
        seen.append(record.value or b"")

    ends = await read_to_end(ledgered.bootstrap, topic, keep)
    again = await read_to_end(ledgered.bootstrap, topic, keep, start=ends)

    assert len(seen) == 13
    assert ends == {0: 7, 1: 6} == again
    assert {b"batch-0-4", b"batch-1-4"} <= set(seen)
