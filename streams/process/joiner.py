"""The join's folds: one normalized event in, the tables updated, a `JoinOutput` back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from schemas.commerce.writeback import CommerceUnsubscribe
from schemas.contract.consent import ConsentChanged
from schemas.contract.incidents import Reason
from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.contract.topics import COMMERCE_WRITES, CONSENT, ORDERS, REFUNDS
from schemas.dotdigital.commands import ConsentWrite, WriteCommand
from schemas.dotdigital.orders import ORDERS_COLLECTION
from schemas.dotdigital.refunds import REFUNDS_COLLECTION
from schemas.rules.consent import ConsentOutcome, ConsentState, NoticeKind, fold_consent
from schemas.rules.contacts import (
    ContactHandover,
    ContactState,
    OrderState,
    fold_customer,
    fold_order,
)
from schemas.rules.order_recency import is_newer
from streams.process.contact_book import ContactBook, Table
from streams.process.identity import changed_email, hand_over, take_over
from streams.process.join_output import Forward, JoinNotice, JoinOutput
from streams.process.order_writes import (
    Attributes,
    OrderSync,
    contact_write,
    no_attributes,
    order_writes,
    refund_write,
)

NOTICE_REASONS = {
    NoticeKind.RESUBSCRIBE_REFUSED: Reason.RESUBSCRIBE_REFUSED,
    NoticeKind.GUEST_UNSUBSCRIBE: Reason.GUEST_UNSUBSCRIBE,
}


class Joiner:
    """Folds normalized events into the per-email tables and says what they call for."""

    def __init__(
        self,
        contacts: Table,
        orders: Table,
        *,
        collection: str = ORDERS_COLLECTION,
        refunds_collection: str = REFUNDS_COLLECTION,
        programs: Mapping[str, int] | None = None,
        write_back: bool = True,
        data_fields: Mapping[str, str] | None = None,
        attributes: Callable[[Iterable[str]], Attributes] = no_attributes,
    ) -> None:
        self.book = ContactBook(contacts, orders)
        self._sync = OrderSync(
            collection,
            refunds_collection,
            dict(programs or {}),
            dict(data_fields or {}),
            attributes,
        )
        self._write_back = write_back

    def consent_of(self, email: str) -> ConsentState | None:
        """The contact's consent as the table holds it now (for the sink's gate)."""
        return self.book.consent_of(email)

    def route(self, email: str) -> str:
        """The writes-topic key for a contact's writes: its lineage, so they stay in order."""
        return self.book.route(email)

    def on_order(self, order: OrderUpdated, *, replay: bool = False) -> JoinOutput:
        """An order snapshot (its lines' product attributes looked up as its record is made).

        A replayed snapshot (`replay`) that is no news restates what the table holds: the
        contact and the order's record are written again with today's mapping, enrolments are
        not repeated. One the table has not seen yet is folded like any other."""
        book = self.book
        moved_to = book.moved_to(order.email)
        if moved_to is not None:
            # An old snapshot under an email that has since changed: it belongs to the new one.
            forwarded = order.model_copy(update={"email": moved_to})
            return JoinOutput(forwards=[Forward(ORDERS, moved_to, forwarded)])
        previous = book.order(order.increment_id)
        if previous is not None and not is_newer(previous.order, order):
            if not replay:
                return JoinOutput()
            return self._restate_order(order, previous)
        contact = fold_order(book.contact(order.email), order)
        if changed_email(previous, order) and contact.synced_fields is None:
            # The customer's email changed, and this order says so before their customer save
            # did (another topic): the new address waits for its history, as it would then.
            assert previous is not None
            contact = contact.model_copy(update={"awaiting_handover": previous.email})
        if contact.awaiting_handover:
            # Nothing goes to Dotdigital for this address until its contact has been renamed.
            book.keep_contact(order.email, contact)
            enrolled = previous.enrolled if previous else []
            book.keep_order(OrderState(email=order.email, order=order, enrolled=enrolled))
            return JoinOutput()
        return order_writes(book, self._sync, contact, order, previous)

    def _restate_order(self, order: OrderUpdated, previous: OrderState) -> JoinOutput:
        """A replayed snapshot the table already holds (or holds a newer one of): what the
        table says, written again."""
        current = order if not is_newer(order, previous.order) else previous.order
        if current.email != previous.email:
            return JoinOutput()  # the order moved with an email change: restated there
        contact = self.book.contact(current.email)
        if contact is None or contact.awaiting_handover:
            return JoinOutput()
        # The snapshot may be worked out afresh (a fixed normalize): the contact's order count,
        # lifetime value and order dates follow it, as the record does.
        contact = fold_order(contact, current)
        return order_writes(self.book, self._sync, contact, current, previous, restate=True)

    def on_refund(self, refund: RefundRecorded) -> JoinOutput:
        """A credit memo is a record of its own; the order's totals follow with its snapshot."""
        book = self.book
        moved_to = book.moved_to(refund.email)
        if moved_to is not None:
            # A credit memo on an order from before an email change: the contact lives on under
            # the new address (Dotdigital has no contact under the old one any more).
            forwarded = refund.model_copy(update={"email": moved_to})
            return JoinOutput(forwards=[Forward(REFUNDS, moved_to, forwarded)])
        contact = book.contact(refund.email)
        if contact is not None and contact.awaiting_handover:
            # Not renamed in Dotdigital yet: the record waits for the history (`take_over`).
            waiting = contact.model_copy(
                update={"waiting_refunds": [*contact.waiting_refunds, refund]}
            )
            book.keep_contact(refund.email, waiting)
            return JoinOutput()
        return JoinOutput([refund_write(self._sync, refund)])

    def on_customer(
        self, customer: CustomerUpdated, key: str | None = None, *, replay: bool = False
    ) -> JoinOutput:
        """A customer save, seen under its email (or, after an email change, its old one).

        A replayed save restates the contact as the table holds it (a replay is no news: an
        older save must not bring back old names); one for a contact the table has never held
        is folded like any other."""
        book = self.book
        if replay:
            restated = self._restate_contact(customer, key)
            if restated is not None:
                return restated
        previous = customer.previous_email
        if previous is not None and key == previous:
            return hand_over(book, customer, previous)
        if previous is None and book.moved_to(customer.email) is not None:
            # A save from before the customer left this address, arriving late: the contact
            # lives on under its new email, and an older save must not bring the old one back.
            return JoinOutput()
        current = book.contact(customer.email)
        folded = fold_customer(current, customer).model_copy(update={"moved_to": None})
        if previous is not None and (current is None or current.synced_fields is None):
            # The Dotdigital contact is still under the old address: nothing is written for the
            # new one until the old partition hands the history over (see `on_handover`).
            waiting = folded.model_copy(update={"awaiting_handover": previous})
            book.keep_contact(customer.email, waiting)
            return JoinOutput()
        state, writes = contact_write(folded, customer.event_id, self._sync.data_fields)
        book.keep_contact(customer.email, state)
        return JoinOutput(writes)

    def _restate_contact(self, customer: CustomerUpdated, key: str | None) -> JoinOutput | None:
        """The contact's data fields written again, as the table holds them; None when the
        table holds no such contact (the save is then news)."""
        if customer.previous_email is not None and key == customer.previous_email:
            return JoinOutput()  # the hand-over happened when the save was news
        contact = self.book.contact(customer.email)
        if contact is None:
            return None
        if contact.moved_to is not None or contact.awaiting_handover:
            return JoinOutput()
        state, writes = contact_write(
            contact, customer.event_id, self._sync.data_fields, restate=True
        )
        self.book.keep_contact(customer.email, state)
        return JoinOutput(writes)

    def on_handover(self, handover: ContactHandover) -> JoinOutput:
        """A contact's history, handed over from its previous email's partition."""
        return take_over(self.book, self._sync, handover)

    def on_consent(self, change: ConsentChanged, *, replay: bool = False) -> JoinOutput:
        """One side reported consent: fold it by the rules, publish a change, carry it over.

        A replayed report changes nothing: the live stream carried every consent change when
        it happened, and a replay must never create one it would not have."""
        if replay:
            return JoinOutput()
        email = change.email
        contact = self.book.contact(email) or ContactState(email=email)
        known = contact.customer_id if contact.registered else None
        outcome = fold_consent(contact.consent, change, customer_id=known)
        if outcome.state != contact.consent:
            self.book.keep_contact(email, contact.model_copy(update={"consent": outcome.state}))
        out = JoinOutput()
        if outcome.published is not None:
            out.forwards.append(Forward(CONSENT, email, outcome.published))
        for notice in outcome.notices:
            reason = NOTICE_REASONS[notice.kind]
            subject = f"contact {email}"
            out.notices.append(JoinNotice(reason, subject, notice.message, email, change.event_id))
        out.forwards += self._commerce_write(outcome, change)
        action = outcome.to_dotdigital
        if action is not None:
            write = ConsentWrite(
                email=email,
                action=action,
                consent_event_id=change.event_id,
                occurred_at=change.occurred_at,
                subject=f"contact {email} ({action})",
                source_event_id=change.event_id,
                issued_at=datetime.now(UTC),
            )
            out.writes.append(WriteCommand(command=write))
        return out

    def _commerce_write(self, outcome: ConsentOutcome, change: ConsentChanged) -> list[Forward]:
        """The write-back to Commerce an opt-out Dotdigital reported calls for, if any."""
        state = outcome.state
        if not outcome.to_commerce or not self._write_back or state is None:
            return []
        if state.customer_id is None:
            return []
        command = CommerceUnsubscribe(
            email=change.email,
            customer_id=state.customer_id,
            reason=change.reason,
            consent_event_id=change.event_id,
            occurred_at=change.occurred_at,
            issued_at=datetime.now(UTC),
        )
        return [Forward(COMMERCE_WRITES, change.email, command)]
