"""An order's writes: the contact's data fields, the `Orders` record and the journeys it earned."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas.contract.incidents import Reason
from schemas.contract.normalized import OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.dotdigital.bodies import InsightRecord
from schemas.dotdigital.commands import (
    ContactWrite,
    EnrolmentWrite,
    InsightWrite,
    Lane,
    WriteCommand,
)
from schemas.dotdigital.orders import ORDERS_COLLECTION, orders_record
from schemas.dotdigital.refunds import REFUNDS_COLLECTION, refunds_record
from schemas.rules.consent import enrolment_refusal
from schemas.rules.contacts import ContactState, OrderState, contact_fields, fingerprint
from schemas.rules.fulfilment import FIRST_ORDER, enrolments_due
from streams.process.contact_book import ContactBook
from streams.process.join_output import JoinNotice, JoinOutput

Attributes = Mapping[str, Mapping[str, str]]


def no_attributes(skus: Iterable[str]) -> Attributes:
    """No product attributes on any line (no catalogue mapping names Orders lines)."""
    return {}


def line_skus(order: OrderUpdated) -> list[str]:
    """Every sku on the order, bundle and configurable children included."""
    return [line.sku for line in order.lines] + [
        child.sku for line in order.lines for child in line.children
    ]


@dataclass(frozen=True)
class OrderSync:
    """Where order and refund records go, and which programs fulfilled orders enrol into."""

    collection: str = ORDERS_COLLECTION
    refunds_collection: str = REFUNDS_COLLECTION
    programs: Mapping[str, int] = field(default_factory=dict)
    # The account's own data field names, where the merchant renamed them.
    data_fields: Mapping[str, str] = field(default_factory=dict)
    # SKU → the attributes its lines carry (the products topic, in memory): every time a
    # record is made, so one written again after an email change carries them too.
    attributes: Callable[[Iterable[str]], Attributes] = no_attributes

    def orders_record(self, order: OrderUpdated) -> InsightRecord:
        """The order's `Orders` record, its lines with their products' attributes."""
        return orders_record(order, self.attributes(line_skus(order)))


def contact_write(
    state: ContactState,
    event_id: str,
    names: Mapping[str, str] | None = None,
    *,
    restate: bool = False,
) -> tuple[ContactState, list[WriteCommand]]:
    """The contact's data fields as a write, unless Dotdigital already has them (`restate`, a
    replay: written whatever was sent before, since what was sent may have been wrong)."""
    upsert = contact_fields(state, names)
    digest = fingerprint(upsert.data_fields)
    if digest == state.synced_fields and not restate:
        return state, []
    write = ContactWrite(
        email=state.email,
        data_fields=upsert.data_fields,
        source_event_id=event_id,
        issued_at=datetime.now(UTC),
    )
    return state.model_copy(update={"synced_fields": digest}), [WriteCommand(command=write)]


def order_writes(
    book: ContactBook,
    sync: OrderSync,
    contact: ContactState,
    order: OrderUpdated,
    previous: OrderState | None,
    *,
    restate: bool = False,
) -> JoinOutput:
    """The contact, the order's record and the enrolments it has earned, as writes; the tables
    remember what was sent. `restate` (a replay) writes the contact and the record even if the
    same was sent before; enrolments stay once each."""
    state, writes = contact_write(contact, order.event_id, sync.data_fields, restate=restate)
    out = JoinOutput(writes)
    record = sync.orders_record(order)
    digest = fingerprint(record.json_)
    if previous is None or previous.synced_record != digest or restate:
        out.writes.append(insight(order.email, sync.collection, "orders", record, order, "order"))
    done = frozenset(previous.enrolled if previous else ())
    due = enrolments_due(
        order,
        programs=sync.programs,
        done_for_order=done,
        contact_had_first_order=state.first_order_enrolled,
    )
    refusal = enrolment_refusal(state.consent)
    for trigger in due:
        subject = f"order {order.increment_id} ({trigger})"
        if refusal is not None:
            # Marked done: a journey for this order never starts later, after a re-subscribe.
            out.notices.append(
                JoinNotice(
                    Reason.CONSENT_GATE,
                    subject,
                    refusal,
                    order.email,
                    order.event_id,
                    program=sync.programs[trigger],
                )
            )
            continue
        enrolment = EnrolmentWrite(
            email=order.email,
            program_id=sync.programs[trigger],
            trigger=trigger,
            subject=subject,
            source_event_id=order.event_id,
            issued_at=datetime.now(UTC),
        )
        out.writes.append(WriteCommand(command=enrolment))
    if FIRST_ORDER in due:
        state = state.model_copy(update={"first_order_enrolled": True})
    book.keep_order(
        OrderState(
            email=order.email, order=order, synced_record=digest, enrolled=sorted(done | set(due))
        )
    )
    book.keep_contact(order.email, state)
    return out


def refund_write(sync: OrderSync, refund: RefundRecorded) -> WriteCommand:
    """A credit memo's `Refunds` record, under the email the refund carries."""
    record = refunds_record(refund)
    what = f"refund {refund.increment_id} of order"
    return insight(refund.email, sync.refunds_collection, "custom", record, refund, what)


def insight(
    email: str,
    collection: str,
    collection_type: str,
    record: InsightRecord,
    source: OrderUpdated | RefundRecorded,
    what: str,
) -> WriteCommand:
    """An insight record write on the batch lane, named for the order it belongs to."""
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
