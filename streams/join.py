"""The join agent: normalized events per email → `contacts` and `orders` tables → write commands."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.commands import ContactWrite, EnrolmentWrite, InsightWrite, Lane, WriteCommand
from schemas.contacts import (
    ContactState,
    OrderState,
    contact_fields,
    fingerprint,
    fold_customer,
    fold_order,
)
from schemas.dotdigital import InsightRecord
from schemas.fulfilment import FIRST_ORDER, enrolments_due
from schemas.incidents import Reason
from schemas.normalized import CustomerUpdated, OrderUpdated
from schemas.orders import ORDERS_COLLECTION, is_newer, orders_record
from schemas.refunds import REFUNDS_COLLECTION, RefundRecorded, refunds_record
from streams.incidents import Incidents
from streams.tables import bytes_table
from streams.topics import CUSTOMERS, ORDERS, REFUNDS, TopicSet

log = logging.getLogger(__name__)


class Joiner:
    """Folds normalized events into the per-email tables and returns the writes they call for."""

    def __init__(
        self,
        contacts: Any,
        orders: Any,
        *,
        collection: str = ORDERS_COLLECTION,
        refunds_collection: str = REFUNDS_COLLECTION,
        programs: Mapping[str, int] | None = None,
    ) -> None:
        self._contacts = contacts
        self._orders = orders
        self._collection = collection
        self._refunds_collection = refunds_collection
        self._programs = dict(programs or {})

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
            writes.append(_insight(order.email, self._collection, "orders", record, order, "order"))
        done = frozenset(previous.enrolled if previous else ())
        due = enrolments_due(
            order,
            programs=self._programs,
            done_for_order=done,
            contact_had_first_order=state.first_order_enrolled,
        )
        for trigger in due:
            writes.append(
                WriteCommand(
                    command=EnrolmentWrite(
                        email=order.email,
                        program_id=self._programs[trigger],
                        trigger=trigger,
                        subject=f"order {order.increment_id} ({trigger})",
                        source_event_id=order.event_id,
                        issued_at=datetime.now(UTC),
                    )
                )
            )
        if FIRST_ORDER in due:
            state = state.model_copy(update={"first_order_enrolled": True})
        self._orders[key] = (
            OrderState(
                email=order.email,
                order=order,
                synced_record=digest,
                enrolled=sorted(done | set(due)),
            )
            .model_dump_json()
            .encode()
        )
        self._contacts[order.email.encode()] = state.model_dump_json().encode()
        return writes

    def on_refund(self, refund: RefundRecorded) -> list[WriteCommand]:
        """A credit memo is a record of its own; the order's totals follow with its snapshot."""
        record = refunds_record(refund)
        return [
            _insight(
                refund.email,
                self._refunds_collection,
                "custom",
                record,
                refund,
                f"refund {refund.increment_id} of order",
            )
        ]

    def on_customer(self, customer: CustomerUpdated) -> list[WriteCommand]:
        state, writes = self._contact_write(
            fold_customer(self._contact(customer.email), customer), customer.event_id
        )
        self._contacts[customer.email.encode()] = state.model_dump_json().encode()
        return writes


def _insight(
    email: str,
    collection: str,
    collection_type: str,
    record: InsightRecord,
    source: OrderUpdated | RefundRecorded,
    what: str,
) -> WriteCommand:
    number = (
        source.order_increment_id if isinstance(source, RefundRecorded) else source.increment_id
    )
    return WriteCommand(
        command=InsightWrite(
            lane=Lane.BATCH,
            email=email,
            collection=collection,
            collection_type=collection_type,
            record=record,
            subject=f"{what} {number}",
            source_event_id=source.event_id,
            issued_at=datetime.now(UTC),
        )
    )


def register(
    app: Any,
    topics: TopicSet,
    incidents: Incidents,
    partitions: int,
    collection: str,
    *,
    refunds_collection: str = REFUNDS_COLLECTION,
    programs: Mapping[str, int] | None = None,
) -> Any:
    """Declare the contacts and orders tables and the join agent on `app`."""

    joiner = Joiner(
        bytes_table(app, "contacts", partitions),
        bytes_table(app, "orders", partitions),
        collection=collection,
        refunds_collection=refunds_collection,
        programs=programs,
    )
    source = app.topic(
        ORDERS,
        CUSTOMERS,
        REFUNDS,
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
                elif topic == REFUNDS:
                    writes = joiner.on_refund(RefundRecorded.model_validate_json(event.value))
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
