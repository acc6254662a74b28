"""A customers backfill of people who never subscribed changes nobody's consent anywhere.

Commerce shows `is_subscribed: false` for every customer who never subscribed; read back through
REST by `cartwright backfill --entities customers`, that must not become a global unsubscribe.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.settings import KafkaSettings
from tests.support.stack import Stack, eventually, read_all, read_topic

pytestmark = pytest.mark.integration

CUSTOMERS = 20
OBSERVED = "cartwright.consent.observed.v1"
GROUP = KafkaSettings().app_id  # the worker's consumer group (the stacks keep the default)


async def _committed(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = consumer.partitions_for_topic(topic) or set()
        return {p: await consumer.committed(TopicPartition(topic, p)) or 0 for p in partitions}
    finally:
        await consumer.stop()


def of(records: list[dict[str, Any]], emails: set[str]) -> list[dict[str, Any]]:
    return [r for r in records if r["key"] in emails]


def test_a_customers_backfill_of_never_subscribed_customers_changes_no_consent(
    stack: Stack, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    customers = stack.commerce.act(
        lambda store: [
            store.register(f"never{n}.{run}@example.com", "Ada", f"Byron{n}")
            for n in range(CUSTOMERS)
        ]
    )
    emails = {customer.email for customer in customers}
    assert all(
        stack.commerce.customer(c.id)["extension_attributes"]["is_subscribed"] is False
        for c in customers
    )

    backfill = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "backfill",
            "--since",
            "2000-01-01",
            "--entities",
            "customers",
            "--checkpoint",
            str(tmp_path / "backfill.json"),
        ],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "customers" in backfill.stdout

    # Each backfilled customer reached the join as a Commerce observation: "not subscribed".
    def all_observed(seen: list[dict[str, Any]]) -> bool:
        return {r["key"] for r in seen if r["value"]["snapshot"]} >= emails

    observed = of(read_topic(stack.bootstrap, OBSERVED, all_observed, timeout=120), emails)
    assert {r["value"]["reason"] for r in observed} == {"customer is_subscribed false"}
    last: dict[int, int] = {}
    for r in observed:
        last[r["partition"]] = max(last.get(r["partition"], -1), r["offset"])

    # ...and the join has folded every one of them (its offsets are committed past them).
    eventually(
        lambda: all(
            asyncio.run(_committed(stack.bootstrap, OBSERVED)).get(p, 0) > offset
            for p, offset in last.items()
        ),
        timeout=120,
        what="the join past the backfilled observations",
    )

    assert of(read_all(stack.bootstrap, "consent.v1", quiet=2.0), emails) == []
    consent_writes = [
        r
        for r in read_all(stack.bootstrap, "dotdigital.writes.realtime.v1", quiet=2.0)
        if r["value"]["command"]["kind"] == "consent" and r["value"]["command"]["email"] in emails
    ]
    assert consent_writes == []
    assert of(read_all(stack.bootstrap, "cartwright.commerce.writes.v1", quiet=2.0), emails) == []
    for email in emails:
        contact = stack.dotdigital.contact(email)
        assert contact is None or contact["status"] != "unsubscribed", email
    assert all(
        stack.commerce.customer(c.id)["extension_attributes"]["is_subscribed"] is False
        for c in customers
    )
