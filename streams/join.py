"""The join agent: normalized events per email → `contacts` and `orders` tables → write commands."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from schemas.commerce.writeback import CommerceUnsubscribe
from schemas.contract.consent import ConsentChanged
from schemas.contract.incidents import Reason
from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.contract.topics import (
    COMMERCE_WRITES,
    CONSENT,
    CONSENT_OBSERVED,
    CUSTOMERS,
    IDENTITY,
    ORDERS,
    REFUNDS,
)
from schemas.dotdigital.bodies import InsightRecord
from schemas.dotdigital.commands import (
    ConsentWrite,
    ContactWrite,
    EnrolmentWrite,
    InsightWrite,
    Lane,
    WriteCommand,
)
from schemas.dotdigital.orders import ORDERS_COLLECTION, orders_record
from schemas.dotdigital.refunds import REFUNDS_COLLECTION, refunds_record
from schemas.rules.consent import (
    ConsentOutcome,
    ConsentState,
    NoticeKind,
    enrolment_refusal,
    fold_consent,
)
from schemas.rules.contacts import (
    ContactHandover,
    ContactState,
    OrderState,
    contact_fields,
    fingerprint,
    fold_customer,
    fold_order,
    merge_contacts,
)
from schemas.rules.fulfilment import FIRST_ORDER, enrolments_due
from schemas.rules.order_recency import is_newer
from streams.attributes import ProductAttributes
from streams.incidents import Incidents
from streams.tables import bytes_table
from streams.topics import TopicSet

log = logging.getLogger(__name__)

NOTICE_REASONS = {
    NoticeKind.RESUBSCRIBE_REFUSED: Reason.RESUBSCRIBE_REFUSED,
    NoticeKind.GUEST_UNSUBSCRIBE: Reason.GUEST_UNSUBSCRIBE,
}


@dataclass(frozen=True)
class JoinNotice:
    """An exception record the join asks for: worth knowing, nothing lost."""

    reason: Reason
    subject: str
    message: str
    email: str
    event_id: str


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
        write_back: bool = True,
    ) -> None:
        self._contacts = contacts
        self._orders = orders
        self._collection = collection
        self._refunds_collection = refunds_collection
        self._programs = dict(programs or {})
        self._write_back = write_back
        # Events to send on after the current one: (topic, key, event).
        self.forwards: list[tuple[str, str, BaseModel]] = []
        # Exception records to publish after the current one.
        self.notices: list[JoinNotice] = []

    def _moved_to(self, email: str) -> str | None:
        state = self._contact(email)
        return state.moved_to if state else None

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

    def on_order(
        self, order: OrderUpdated, attributes: Mapping[str, Mapping[str, str]] | None = None
    ) -> list[WriteCommand]:
        moved_to = self._moved_to(order.email)
        if moved_to is not None:
            # An old snapshot under an email that has since changed: it belongs to the new one.
            self.forwards.append((ORDERS, moved_to, order.model_copy(update={"email": moved_to})))
            return []
        key = order.increment_id.encode()
        stored = self._orders.get(key)
        previous = OrderState.model_validate_json(stored) if stored else None
        if previous is not None and not is_newer(previous.order, order):
            return []
        contact = fold_order(self._contact(order.email), order)
        if _changed_email(previous, order) and contact.synced_fields is None:
            # The customer's email changed, and this order says so before their customer save
            # did (another topic): the new address waits for its history, as it would then.
            assert previous is not None
            contact = contact.model_copy(update={"awaiting_handover": previous.email})
        if contact.awaiting_handover:
            # Nothing goes to Dotdigital for this address until its contact has been renamed.
            self._contacts[order.email.encode()] = contact.model_dump_json().encode()
            waiting = OrderState(
                email=order.email, order=order, enrolled=previous.enrolled if previous else []
            )
            self._orders[key] = waiting.model_dump_json().encode()
            return []
        return self._order_writes(contact, order, previous, attributes)

    def _order_writes(
        self,
        contact: ContactState,
        order: OrderUpdated,
        previous: OrderState | None,
        attributes: Mapping[str, Mapping[str, str]] | None = None,
    ) -> list[WriteCommand]:
        """The contact, the order's record and the enrolments it has earned, as writes."""
        key = order.increment_id.encode()
        state, writes = self._contact_write(contact, order.event_id)
        record = orders_record(order, attributes)
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
        refusal = enrolment_refusal(state.consent)
        for trigger in due if refusal is not None else ():
            # Marked done: a journey for this order never starts later, after a re-subscribe.
            self.notices.append(
                JoinNotice(
                    Reason.CONSENT_GATE,
                    f"order {order.increment_id} ({trigger})",
                    refusal or "",
                    order.email,
                    order.event_id,
                )
            )
        for trigger in due if refusal is None else ():
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

    def on_customer(self, customer: CustomerUpdated, key: str | None = None) -> list[WriteCommand]:
        """A customer save, seen under its email (or, after an email change, its old one)."""
        previous = customer.previous_email
        if previous is not None and key == previous:
            self._hand_over(customer, previous)
            return []
        if previous is None and self._moved_to(customer.email) is not None:
            # A save from before the customer left this address, arriving late: the contact
            # lives on under its new email, and an older save must not bring the old one back.
            return []
        current = self._contact(customer.email)
        folded = fold_customer(current, customer).model_copy(update={"moved_to": None})
        if previous is not None and (current is None or current.synced_fields is None):
            # The Dotdigital contact is still under the old address: nothing is written for the
            # new one until the old partition hands the history over (see `on_handover`).
            waiting = folded.model_copy(update={"awaiting_handover": previous})
            self._contacts[customer.email.encode()] = waiting.model_dump_json().encode()
            return []
        state, writes = self._contact_write(folded, customer.event_id)
        self._contacts[customer.email.encode()] = state.model_dump_json().encode()
        return writes

    def on_consent(self, change: ConsentChanged) -> list[WriteCommand]:
        """One side reported consent: fold it by the rules, publish a change, carry it over."""
        email = change.email
        contact = self._contact(email) or ContactState(email=email)
        known = contact.customer_id if contact.registered else None
        outcome = fold_consent(contact.consent, change, customer_id=known)
        if outcome.state != contact.consent:
            updated = contact.model_copy(update={"consent": outcome.state})
            self._contacts[email.encode()] = updated.model_dump_json().encode()
        if outcome.published is not None:
            self.forwards.append((CONSENT, email, outcome.published))
        for notice in outcome.notices:
            self.notices.append(
                JoinNotice(
                    NOTICE_REASONS[notice.kind],
                    f"contact {email}",
                    notice.message,
                    email,
                    change.event_id,
                )
            )
        self._commerce_write(outcome, change)
        action = outcome.to_dotdigital
        if action is None:
            return []
        write = ConsentWrite(
            email=email,
            action=action,
            consent_event_id=change.event_id,
            occurred_at=change.occurred_at,
            subject=f"contact {email} ({action})",
            source_event_id=change.event_id,
            issued_at=datetime.now(UTC),
        )
        return [WriteCommand(command=write)]

    def _commerce_write(self, outcome: ConsentOutcome, change: ConsentChanged) -> None:
        state = outcome.state
        if not outcome.to_commerce or not self._write_back or state is None:
            return
        if state.customer_id is None:
            return
        command = CommerceUnsubscribe(
            email=change.email,
            customer_id=state.customer_id,
            reason=change.reason,
            consent_event_id=change.event_id,
            occurred_at=change.occurred_at,
            issued_at=datetime.now(UTC),
        )
        self.forwards.append((COMMERCE_WRITES, change.email, command))

    def consent_of(self, email: str) -> ConsentState | None:
        """The contact's consent as the table holds it now (for the sink's gate)."""
        state = self._contact(email)
        return state.consent if state else None

    def route(self, email: str) -> str:
        """The writes-topic key for a contact's writes: its lineage, so they stay in order."""
        state = self._contact(email)
        return (state.write_key if state else None) or email

    def _hand_over(self, customer: CustomerUpdated, previous: str) -> None:
        """On the old email's partition: pass the history on, and remember where it went."""
        old = self._contact(previous)
        orders = []
        for number in old.orders if old else ():
            stored = self._orders.get(number.encode())
            if stored:
                orders.append(OrderState.model_validate_json(stored))
        moved = (old or ContactState(email=previous)).model_copy(
            update={"moved_to": customer.email}
        )
        self._contacts[previous.encode()] = moved.model_dump_json().encode()
        handover = ContactHandover(
            email=customer.email,
            previous_email=previous,
            contact=old,
            orders=orders,
            event_id=customer.event_id,
        )
        self.forwards.append((IDENTITY, customer.email, handover))

    def on_handover(self, handover: ContactHandover) -> list[WriteCommand]:
        """On the new email's partition: take the history over; records follow the new email."""
        email = handover.email
        state = self._contact(email)
        rename = None
        if handover.contact is not None:
            old = handover.contact
            if state is None or state.synced_fields is None:
                # Rename the old Dotdigital contact, through the old lineage's partition, after
                # everything already written for it there.
                rename = handover.previous_email
                lineage = old.write_key or handover.previous_email
                state = (state or ContactState(email=email)).model_copy(
                    update={"write_key": lineage}
                )
            state = merge_contacts(state, old, email)
        if state is not None:
            state = state.model_copy(update={"awaiting_handover": None})
        writes: list[WriteCommand] = []
        for moved in handover.orders:
            order = moved.order.model_copy(update={"email": email})
            record = orders_record(order)
            writes.append(_insight(email, self._collection, "orders", record, order, "order"))
            taken = moved.model_copy(
                update={"email": email, "order": order, "synced_record": fingerprint(record.json_)}
            )
            self._orders[order.increment_id.encode()] = taken.model_dump_json().encode()
        if state is None:
            return writes
        state, contact_writes = self._contact_write(state, handover.event_id)
        for write in contact_writes:
            if isinstance(write.command, ContactWrite):
                write.command.previous_email = rename
        self._contacts[email.encode()] = state.model_dump_json().encode()
        # Orders that came for the new address while it waited for its history.
        for number in state.orders:
            stored = self._orders.get(number.encode())
            waiting = OrderState.model_validate_json(stored) if stored else None
            if waiting is not None and waiting.synced_record is None:
                writes += self._order_writes(state, waiting.order, waiting)
                state = self._contact(email) or state
        return contact_writes + writes


def _changed_email(previous: OrderState | None, order: OrderUpdated) -> bool:
    """The same customer's order, seen before under another email."""
    return (
        previous is not None
        and previous.email != order.email
        and order.customer_id is not None
        and previous.order.customer_id == order.customer_id
    )


def _skus(order: OrderUpdated) -> list[str]:
    return [line.sku for line in order.lines] + [
        child.sku for line in order.lines for child in line.children
    ]


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
    attributes: Callable[[], AbstractAsyncContextManager[ProductAttributes | None]] | None = None,
    write_back: bool = True,
) -> tuple[Any, Joiner]:
    """Declare the contacts and orders tables and the join agent on `app`."""

    joiner = Joiner(
        bytes_table(app, "contacts", partitions),
        bytes_table(app, "orders", partitions),
        collection=collection,
        refunds_collection=refunds_collection,
        programs=programs,
        write_back=write_back,
    )
    source = app.topic(
        ORDERS,
        CUSTOMERS,
        REFUNDS,
        IDENTITY,
        CONSENT_OBSERVED,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    targets = {
        IDENTITY: topics.identity,
        ORDERS: topics.orders,
        CONSENT: topics.consent,
        COMMERCE_WRITES: topics.commerce_writes,
    }

    @app.agent(source, name="join")
    async def join(stream: Any) -> None:
        if attributes is None:
            await consume(stream, None)
            return
        async with attributes() as products:
            await consume(stream, products)

    async def consume(stream: Any, products: ProductAttributes | None) -> None:
        async for event in stream.events():
            topic = event.message.topic
            try:
                key = (event.key or b"").decode()
                if topic == ORDERS:
                    order = OrderUpdated.model_validate_json(event.value)
                    labels = await products.for_skus(_skus(order)) if products else None
                    writes = joiner.on_order(order, labels)
                elif topic == REFUNDS:
                    writes = joiner.on_refund(RefundRecorded.model_validate_json(event.value))
                elif topic == IDENTITY:
                    writes = joiner.on_handover(ContactHandover.model_validate_json(event.value))
                elif topic == CONSENT_OBSERVED:
                    writes = joiner.on_consent(ConsentChanged.model_validate_json(event.value))
                else:
                    customer = CustomerUpdated.model_validate_json(event.value)
                    writes = joiner.on_customer(customer, key)
            except ValidationError as exc:
                await incidents.unreadable(event, "a v1 normalized event", exc.error_count())
                continue
            for name, forward_key, forwarded in joiner.forwards:
                await targets[name].send(
                    key=forward_key.encode(),
                    value=orjson.dumps(forwarded.model_dump(mode="json", by_alias=True)),
                )
            joiner.forwards.clear()
            for notice in joiner.notices:
                await incidents.report(
                    reason=notice.reason,
                    message=notice.message,
                    subject=notice.subject,
                    event_id=notice.event_id,
                    email=notice.email,
                )
            joiner.notices.clear()
            for write in writes:
                lane = (
                    topics.writes_realtime if write.command.lane is Lane.REALTIME else topics.writes
                )
                owner = write.command.email or (event.key or b"").decode()
                await lane.send(
                    key=joiner.route(owner).encode(),
                    value=orjson.dumps(write.model_dump(mode="json", by_alias=True)),
                )

    return join, joiner
