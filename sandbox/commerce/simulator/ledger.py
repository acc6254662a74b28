"""The store's records and how a save becomes a CloudEvent: ids, the clock, listeners, registries."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sandbox.commerce.model.carts import Quote
from sandbox.commerce.model.catalogue import Catalogue
from sandbox.commerce.model.customers import Customer, Guest, Subscriber
from sandbox.commerce.model.documents import CreditMemo, Shipment
from sandbox.commerce.model.orders import Order
from sandbox.commerce.model.wire import loose
from sandbox.commerce.simulator.clock import SimulatedClock
from sandbox.commerce.simulator.events import ORDER_SAVED, envelope

Event = dict[str, Any]
Listener = Callable[[Event], None]
Shopper = Customer | Guest


def email_key(email: str) -> str:
    """How Commerce matches emails: trimmed, any case."""
    return email.strip().lower()


class Ledger:
    """Everything the store holds, and the one way a save is recorded: `_emit`. Ids come from
    sequences and a Random seeded by the store's seed; times from the simulated clock."""

    def __init__(
        self,
        *,
        seed: int = 7,
        clock: SimulatedClock | None = None,
        client_id: str = "cartwright",
        keep_events: bool = True,
    ) -> None:
        self.seed = seed
        self.clock = clock or SimulatedClock()
        self.client_id = client_id
        self._random = random.Random(f"commerce-store:{seed}")  # noqa: S311 - ids, not secrets
        self._sequences: dict[str, int] = {}
        self._listeners: list[Listener] = []
        self._behaviour_listeners: list[Listener] = []
        self.catalogue = Catalogue(self.clock.start - timedelta(days=90))
        self.customers: dict[int, Customer] = {}
        self.subscribers: dict[str, Subscriber] = {}  # by trimmed, lower-cased email
        self.quotes: dict[int, Quote] = {}
        self.orders: dict[int, Order] = {}
        self.shipments: dict[int, Shipment] = {}
        self.creditmemos: dict[int, CreditMemo] = {}
        self.keep_events = keep_events  # a long-running server counts them instead
        self.events: list[Event] = []
        self.behaviour: list[Event] = []
        self.emitted = 0
        self._by_email: dict[str, Customer] = {}
        self._orders_by_email: dict[str, list[Order]] = {}

    # plumbing

    def listen(self, listener: Listener, *, behaviour: bool = False) -> None:
        """Call `listener` with every new I/O event (or storefront event, with `behaviour`)."""
        (self._behaviour_listeners if behaviour else self._listeners).append(listener)

    def pause_listeners(self) -> tuple[list[Listener], list[Listener]]:
        """Stop telling anyone (for history nobody saw); `resume_listeners` with what this returns."""
        paused = (self._listeners, self._behaviour_listeners)
        self._listeners, self._behaviour_listeners = [], []
        return paused

    def resume_listeners(self, paused: tuple[list[Listener], list[Listener]]) -> None:
        self._listeners, self._behaviour_listeners = paused

    def next_id(self, kind: str) -> int:
        """The next number of a sequence (entity ids, and anything else that must not repeat)."""
        self._sequences[kind] = self._sequences.get(kind, 0) + 1
        return self.seed * 100_000 + self._sequences[kind]

    def _increment(self, kind: str) -> str:
        return f"{self.seed % 1000:03d}{self.next_id(kind) % 100_000:06d}"

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def _emit(self, event_type: str, render: Callable[[], dict[str, Any]]) -> Event:
        """Record one save as a CloudEvent; when nobody can see it (paused listeners and no
        kept events: history being played), nothing is rendered and `{}` comes back."""
        self.emitted += 1
        if not self.keep_events and not self._listeners:
            return {}
        event = envelope(
            event_type,
            loose(render()),
            client_id=self.client_id,
            at=self.clock.now(),
            event_id=self.new_uuid(),
            key=self.new_uuid(),
        )
        if self.keep_events:
            self.events.append(event)
        for listener in self._listeners:
            listener(event)
        return event

    def _observed(self, event: Event) -> Event:
        if self.keep_events:
            self.behaviour.append(event)
        for listener in self._behaviour_listeners:
            listener(event)
        return event

    def _order_saved(self, order: Order) -> Event:
        order.updated_at = self.clock.now()
        order.revision += 1
        return self._emit(ORDER_SAVED, order.record)

    def find_customer(self, email: str) -> Customer | None:
        """The account with this email (trimmed, any case), if there is one."""
        return self._by_email.get(email_key(email))

    def _add_customer(self, customer: Customer) -> None:
        self.customers[customer.id] = customer
        self._by_email[email_key(customer.email)] = customer

    def _add_order(self, order: Order) -> None:
        self.orders[order.entity_id] = order
        self._orders_by_email.setdefault(email_key(order.email), []).append(order)

    def _orders_with(self, email: str) -> list[Order]:
        """Orders whose `customer_email` is this email (trimmed, any case)."""
        return list(self._orders_by_email.get(email_key(email), []))

    def _rewrite_email(self, customer: Customer, old: str) -> None:
        """Commerce's SQL after an email change: the customer's orders with the old email get the
        new one (no order events; `updated_at` moves, it is ON UPDATE)."""
        self._by_email.pop(email_key(old), None)
        self._by_email[email_key(customer.email)] = customer
        for order in self._orders_with(old):
            if order.customer_id == customer.id and order.email.lower() == old.lower():
                self._orders_by_email[email_key(old)].remove(order)
                order.email, order.updated_at = customer.email, self.clock.now()
                order.revision += 1
                self._orders_by_email.setdefault(email_key(order.email), []).append(order)
