"""The join agent: normalized events per email → `contacts` and `orders` tables → write commands."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.commands import ContactWrite, InsightWrite, Lane, WriteCommand
from schemas.contacts import (
    ContactState,
    OrderState,
    contact_fields,
    fingerprint,
    fold_customer,
    fold_order,
)
from schemas.incidents import Reason
from schemas.normalized import CustomerUpdated, OrderUpdated
from schemas.orders import ORDERS_COLLECTION, is_newer, orders_record
from streams.incidents import Incidents
from streams.tables import bytes_table
from streams.topics import CUSTOMERS, ORDERS, TopicSet

log = logging.getLogger(__name__)


class Joiner:
    """Folds normalized events into the per-email tables and returns the writes they call for."""

    def __init__(self, contacts: Any, orders: Any, *, collection: str = ORDERS_COLLECTION) -> None:
        self._contacts = contacts
        self._orders = orders
        self._collection = collection

    def _contact(self, email: str) -> ContactState | None:
        stored = self._contacts.get(email.encode())
        return ContactState.model_validate_json(stored) if stored else None

    def _contact_write(
        self, state: ContactState, event_id: str
    ) -> tuple[ContactState, list[WriteCommand]]:
        upsert = contact_fields(state)
        digest = fingerprint(upsert.data_fields)
        if digest == state.synced_fields:
            return state, []
        write = ContactWrite(
            email=state.email,
            data_fields=upsert.data_fields,
            source_event_id=event_id,
            issued_at=datetime.now(UTC),
        )
        return state.model_copy(update={"synced_fields": digest}), [WriteCommand(command=write)]

    def on_order(self, order: OrderUpdated) -> list[WriteCommand]:
        key = order.increment_id.encode()
        stored = self._orders.get(key)
        previous = OrderState.model_validate_json(stored) if stored else None
        if previous is not None and not is_newer(previous.order, order):
            return []
        state, writes = self._contact_write(
            fold_order(self._contact(order.email), order), order.event_id
        )
        record = orders_record(order)
        digest = fingerprint(record.json_)
        if previous is None or previous.synced_record != digest:
            writes.append(
                WriteCommand(
                    command=InsightWrite(
                        lane=Lane.BATCH,
                        email=order.email,
                        collection=self._collection,
                        collection_type="orders",
                        record=record,
                        subject=f"order {order.increment_id}",
                        source_event_id=order.event_id,
                        issued_at=datetime.now(UTC),
                    )
                )
            )
        self._orders[key] = (
            OrderState(email=order.email, order=order, synced_record=digest)
            .model_dump_json()
            .encode()
        )
        self._contacts[order.email.encode()] = state.model_dump_json().encode()
        return writes

    def on_customer(self, customer: CustomerUpdated) -> list[WriteCommand]:
        state, writes = self._contact_write(
            fold_customer(self._contact(customer.email), customer), customer.event_id
        )
        self._contacts[customer.email.encode()] = state.model_dump_json().encode()
        return writes


def register(
    app: Any, topics: TopicSet, incidents: Incidents, partitions: int, collection: str
) -> Any:
    """Declare the contacts and orders tables and the join agent on `app`."""

    joiner = Joiner(
        bytes_table(app, "contacts", partitions),
        bytes_table(app, "orders", partitions),
        collection=collection,
    )
    source = app.topic(
        ORDERS,
        CUSTOMERS,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    @app.agent(source, name="join")
    async def join(stream: Any) -> None:
        async for event in stream.events():
            topic = event.message.topic
            try:
                if topic == ORDERS:
                    writes = joiner.on_order(OrderUpdated.model_validate_json(event.value))
                else:
                    writes = joiner.on_customer(CustomerUpdated.model_validate_json(event.value))
            except ValidationError as exc:
                await incidents.dead_letter(
                    reason=Reason.INVALID_PAYLOAD,
                    detail=f"not a v1 normalized event: {exc.error_count()} problem(s)",
                    original=event.value,
                    source_topic=topic,
                    key=(event.key or b"").decode(errors="replace"),
                    subject=f"{topic} record {event.message.offset}",
                    partition=event.message.partition,
                    offset=event.message.offset,
                )
                continue
            for write in writes:
                lane = (
                    topics.writes_realtime if write.command.lane is Lane.REALTIME else topics.writes
                )
                await lane.send(
                    key=event.key, value=orjson.dumps(write.model_dump(mode="json", by_alias=True))
                )

    return join
