"""The join's two tables read and written as models: contacts per email, orders per number."""

from __future__ import annotations

from collections.abc import MutableMapping

from schemas.rules.consent import ConsentState
from schemas.rules.contacts import ContactState, OrderState

Table = MutableMapping[bytes, bytes]


class ContactBook:
    """The `contacts` and `orders` tables (Faust tables of bytes, or dicts in tests)."""

    def __init__(self, contacts: Table, orders: Table) -> None:
        self._contacts = contacts
        self._orders = orders

    def contact(self, email: str) -> ContactState | None:
        stored = self._contacts.get(email.encode())
        return ContactState.model_validate_json(stored) if stored else None

    def keep_contact(self, email: str, state: ContactState) -> None:
        self._contacts[email.encode()] = state.model_dump_json().encode()

    def order(self, increment_id: str) -> OrderState | None:
        stored = self._orders.get(increment_id.encode())
        return OrderState.model_validate_json(stored) if stored else None

    def keep_order(self, state: OrderState) -> None:
        self._orders[state.order.increment_id.encode()] = state.model_dump_json().encode()

    def moved_to(self, email: str) -> str | None:
        """Where the contact went if this email changed, else None."""
        state = self.contact(email)
        return state.moved_to if state else None

    def consent_of(self, email: str) -> ConsentState | None:
        """The contact's consent as the table holds it now (for the sink's gate)."""
        state = self.contact(email)
        return state.consent if state else None

    def route(self, email: str) -> str:
        """The writes-topic key for a contact's writes: its lineage, so they stay in order."""
        state = self.contact(email)
        return (state.write_key if state else None) or email
