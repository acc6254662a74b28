"""The Dotdigital writers' bench: the batch sink over the sandbox's client, and the writes it gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.dotdigital.client import DotdigitalClient
from schemas.dotdigital.commands import ContactWrite, WriteCommand
from schemas.dotdigital.orders import ORDERS_COLLECTION
from streams.sinks.dotdigital.batch_writer import BatchWriter
from tests.support.dotdigital import Dotdigital
from tests.support.faketime import FakeTime
from tests.support.network import SandboxNetwork

PLACED_AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
ISSUED_AT = PLACED_AT + timedelta(seconds=5)


@dataclass
class World:
    """A running sandbox, a client pointed at it, the sink under test, and the fake time; the
    writers' waits between retries are noted apart from the client's rate-limit holds."""

    dd: Dotdigital
    sink: BatchWriter = field(init=False)
    retry_sleeps: list[float] = field(default_factory=list)
    retry_sleep: Callable[[float], Awaitable[None]] = field(init=False)

    def __post_init__(self) -> None:
        self.retry_sleep = self.dd.time.sleep_noting(self.retry_sleeps)
        self.sink = BatchWriter(self.dd.client, sleep=self.retry_sleep)

    @property
    def client(self) -> DotdigitalClient:
        return self.dd.client

    @property
    def time(self) -> FakeTime:
        return self.dd.time

    @property
    def network(self) -> SandboxNetwork:
        return self.dd.network

    async def faults(self, **settings: Any) -> None:
        await self.dd.faults(**settings)

    async def stats(self) -> dict[str, Any]:
        return await self.dd.stats()

    async def orders_of(self, email: str) -> dict[str, dict[str, Any]]:
        """Every Orders record of a contact, by key; a key stored twice fails the test."""
        records = await self.client.list_contact_insight(email, ORDERS_COLLECTION)
        keys = [record["key"] for record in records]
        assert len(keys) == len(set(keys)), f"duplicate records for {email}: {keys}"
        return {record["key"]: record["json"] for record in records}


def contact_write(email: str, **fields: Any) -> WriteCommand:
    return WriteCommand(
        command=ContactWrite(
            email=email,
            data_fields={"FIRSTNAME": "Ada", **fields},
            source_event_id=f"evt-contact-{email}",
            issued_at=ISSUED_AT,
        )
    )
