"""Email changes: the old address hands the contact's history over, the new one takes it."""

from __future__ import annotations

from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.topics import IDENTITY
from schemas.dotdigital.commands import ContactWrite
from schemas.rules.contacts import (
    ContactHandover,
    ContactState,
    OrderState,
    fingerprint,
    merge_contacts,
)
from streams.process.contact_book import ContactBook
from streams.process.join_output import Forward, JoinOutput
from streams.process.order_writes import (
    OrderSync,
    contact_write,
    insight,
    order_writes,
    refund_write,
)


def hand_over(book: ContactBook, customer: CustomerUpdated, previous: str) -> JoinOutput:
    """On the old email's partition: pass the history on, and remember where it went."""
    old = book.contact(previous)
    orders = [
        state for number in (old.orders if old else ()) if (state := book.order(number)) is not None
    ]
    moved = (old or ContactState(email=previous)).model_copy(update={"moved_to": customer.email})
    book.keep_contact(previous, moved)
    handover = ContactHandover(
        email=customer.email,
        previous_email=previous,
        contact=old,
        orders=orders,
        event_id=customer.event_id,
    )
    return JoinOutput(forwards=[Forward(IDENTITY, customer.email, handover)])


def take_over(book: ContactBook, sync: OrderSync, handover: ContactHandover) -> JoinOutput:
    """On the new email's partition: take the history over; records follow the new email."""
    email = handover.email
    state = book.contact(email)
    rename = None
    if handover.contact is not None:
        old = handover.contact
        if state is None or state.synced_fields is None:
            # Rename the old Dotdigital contact, through the old lineage's partition, after
            # everything already written for it there.
            rename = handover.previous_email
            lineage = old.write_key or handover.previous_email
            state = (state or ContactState(email=email)).model_copy(update={"write_key": lineage})
        state = merge_contacts(state, old, email)
    waiting_refunds = state.waiting_refunds if state is not None else []
    if state is not None:
        state = state.model_copy(update={"awaiting_handover": None, "waiting_refunds": []})
    records = JoinOutput()
    for moved in handover.orders:
        order = moved.order.model_copy(update={"email": email})
        record = sync.orders_record(order)
        records.writes.append(insight(email, sync.collection, "orders", record, order, "order"))
        taken = moved.model_copy(
            update={"email": email, "order": order, "synced_record": fingerprint(record.json_)}
        )
        book.keep_order(taken)
    if state is None:
        return records
    state, contact_writes = contact_write(state, handover.event_id, sync.data_fields)
    for write in contact_writes:
        if isinstance(write.command, ContactWrite):
            write.command.previous_email = rename
    book.keep_contact(email, state)
    # Orders that came for the new address while it waited for its history.
    for number in state.orders:
        waiting = book.order(number)
        if waiting is not None and waiting.synced_record is None:
            records += order_writes(book, sync, state, waiting.order, waiting)
            state = book.contact(email) or state
    # Credit memos that came for the new address while it waited, after their orders.
    records.writes += [refund_write(sync, refund) for refund in waiting_refunds]
    return JoinOutput(contact_writes) + records


def changed_email(previous: OrderState | None, order: OrderUpdated) -> bool:
    """The same customer's order, seen before under another email."""
    return (
        previous is not None
        and previous.email != order.email
        and order.customer_id is not None
        and previous.order.customer_id == order.customer_id
    )
