"""The join's two tables read and written as models: contacts per email, orders per number."""

from __future__ import annotations

from collections.abc import MutableMapping

from schemas.rules.consent import ConsentState
from schemas.rules.contacts import ContactState, OrderState
from streams.runtime.tables import put

Table = MutableMapping[bytes, bytes]


class ContactBook:
    """The `contacts` and `orders` tables (Faust tables of bytes, or dicts in tests).

    Between `begin` and `commit` what is kept is staged, visible to reads here but not yet in
    the tables: the join commits an event's table changes only once the writes they stand for
    are in Kafka. A table change is in its changelog as soon as it is made, so a worker killed
    in between would otherwise recover tables that say "written" for writes that never left,
    and the redelivered event would find nothing left to write (the contact lost for good).

    Between `open_batch` and `close_batch` an event's `commit` only moves its changes to the
    batch (still visible to the batch's later events): the join waits for Kafka once per batch
    of events, and `close_batch` writes the batch's changes, each to the changelog partition of
    the event that made it.
    """

    def __init__(self, contacts: Table, orders: Table) -> None:
        self._tables = {"contacts": contacts, "orders": orders}
        self._staged: dict[tuple[str, bytes], bytes] | None = None
        self._batch: dict[tuple[str, bytes], tuple[bytes, int | None]] | None = None

    def begin(self) -> None:
        """Stage what is kept from now on, until `commit` or `discard`."""
        self._staged = {}

    def commit(self, partition: int | None = None) -> None:
        """Write what was staged to the tables (and their changelogs), or, in a batch, to the
        batch; `partition` is the changelog partition (the event's) a batch writes it to."""
        staged, self._staged = self._staged or {}, None
        if self._batch is not None:
            self._batch.update((at, (value, partition)) for at, value in staged.items())
            return
        for (table, key), value in staged.items():
            self._tables[table][key] = value

    def discard(self) -> None:
        """Forget what was staged: the event that staged it changed nothing."""
        self._staged = None

    def open_batch(self) -> None:
        """From now on, what events commit waits for `close_batch`."""
        self._batch = {}

    def close_batch(self) -> None:
        """Write what the batch's events committed: their writes are in Kafka."""
        batch, self._batch = self._batch or {}, None
        for (table, key), (value, partition) in batch.items():
            put(self._tables[table], key, value, partition)

    def drop_batch(self) -> None:
        """Forget the batch: its writes were not all acknowledged, so its events come again."""
        self._batch = self._staged = None

    def _get(self, table: str, key: bytes) -> bytes | None:
        if self._staged is not None and (table, key) in self._staged:
            return self._staged[(table, key)]
        if self._batch is not None and (table, key) in self._batch:
            return self._batch[(table, key)][0]
        return self._tables[table].get(key)

    def _put(self, table: str, key: bytes, value: bytes) -> None:
        if self._staged is None:
            self._tables[table][key] = value
        else:
            self._staged[(table, key)] = value

    def contact(self, email: str) -> ContactState | None:
        stored = self._get("contacts", email.encode())
        return ContactState.model_validate_json(stored) if stored else None

    def keep_contact(self, email: str, state: ContactState) -> None:
        self._put("contacts", email.encode(), state.model_dump_json().encode())

    def order(self, increment_id: str) -> OrderState | None:
        stored = self._get("orders", increment_id.encode())
        return OrderState.model_validate_json(stored) if stored else None

    def keep_order(self, state: OrderState) -> None:
        key = state.order.increment_id.encode()
        self._put("orders", key, state.model_dump_json().encode())

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
