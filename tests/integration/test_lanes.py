"""A realtime write lands within 2 s while a 100,000-record batch is draining."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from bench.load import batch_commands, realtime_command
from schemas.contract.topics import WRITES, WRITES_REALTIME
from tests.support.accounts import DD_PASSWORD, DD_USER
from tests.support.stack import Stack, eventually, running_stack

pytestmark = pytest.mark.integration

BATCH_ORDERS = 100_000
REALTIME_WRITES = 20
P99_TARGET_SECONDS = 2.0


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Its own stack: the backlog would slow every other test down."""
    with running_stack(
        tmp_path_factory.mktemp("lanes-logs"),
        CARTWRIGHT_ORDERS__BATCH_SIZE="2000",
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="1",
        CARTWRIGHT_DOTDIGITAL__LOW_PER_MINUTE="60",
    ) as stack:
        yield stack


async def _produce(bootstrap: str, messages: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=20, acks="all"
    )
    await producer.start()
    try:
        for topic, key, value in messages:
            await producer.send(topic, value=value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def orders_landed(stack: Stack) -> int:
    count: int = stack.dotdigital.admin("stats")["collections"].get("Orders", 0)
    return count


def test_realtime_write_lands_within_two_seconds_while_a_big_batch_drains(
    loaded: Stack, tmp_path: Path
) -> None:
    backlog = [(WRITES, key, value) for key, value in batch_commands(BATCH_ORDERS, "backlog")]
    asyncio.run(_produce(loaded.bootstrap, backlog))
    eventually(lambda: orders_landed(loaded) >= 2_000, timeout=120, what="the drain to start")

    sent: dict[str, float] = {}
    for number in range(REALTIME_WRITES):
        key, value = realtime_command(number, "lane-test")
        sent[key.decode()] = time.time()
        asyncio.run(_produce(loaded.bootstrap, [(WRITES_REALTIME, key, value)]))
        email = key.decode()
        eventually(partial(loaded.dotdigital.contact, email), timeout=60, what="realtime")

    still_draining = orders_landed(loaded)
    api = httpx.Client(base_url=loaded.dotdigital.base_url, auth=(DD_USER, DD_PASSWORD))
    latencies = []
    for email, at in sent.items():
        contact = api.get(f"/contacts/v3/email/{email}").json()
        stored = datetime.fromisoformat(contact["updated"].replace("Z", "+00:00")).timestamp()
        latencies.append(stored - at)

    assert still_draining < BATCH_ORDERS, "the batch finished before the realtime writes"
    assert max(latencies) < P99_TARGET_SECONDS, sorted(latencies)
