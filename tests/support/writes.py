"""The Dotdigital writers' bench: the batch sink over the sandbox's client, and the writes it gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connectors.dotdigital.client import DotdigitalClient
from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.orders import Order
from schemas.commerce.orders import CommerceOrder
from schemas.contract.normalized import OrderUpdated
from schemas.dotdigital.bodies import InsightRecord
from schemas.dotdigital.commands import ContactWrite, InsightWrite, WriteCommand
from schemas.dotdigital.orders import ORDERS_COLLECTION, orders_record
from schemas.normalize.orders import order_updated
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


def order(entity_id: int, email: str) -> Order:
    """A one-line order placed at PLACED_AT, as the Commerce sandbox models it."""
    return Order(
        entity_id=entity_id,
        increment_id=f"{entity_id:09d}",
        email=email,
        firstname="Ada",
        lastname="Lovelace",
        lines=[Line(sku="LOOM-1", name="Loom", product_id=7, qty=1, price=Decimal("120"))],
        created_at=PLACED_AT,
    )


def updated(
    entity_id: int, email: str, *, state: str = "new", at: datetime = PLACED_AT
) -> OrderUpdated:
    """The order as normalized, in `state` as of `at`."""
    snapshot = order(entity_id, email).snapshot(state=state, status=state, at=at)
    return order_updated(
        CommerceOrder.model_validate(snapshot), [], event_id=f"evt-{entity_id}", occurred_at=at
    )


def insight_write(record: InsightRecord, email: str) -> WriteCommand:
    return WriteCommand(
        command=InsightWrite(
            email=email,
            collection=ORDERS_COLLECTION,
            collection_type="orders",
            record=record,
            subject=f"order {record.key}",
            source_event_id=f"evt-{record.key}",
            issued_at=ISSUED_AT,
        )
    )


def order_write(order: OrderUpdated) -> WriteCommand:
    """The order's Orders record, as the join writes it."""
    return insight_write(orders_record(order), order.email)
