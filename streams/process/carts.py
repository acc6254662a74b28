"""The carts agent: carts and orders per email → the `carts` table and its timers; ticks fire them.

It reads `commerce.carts.v1`, `commerce.orders.v1` and `cartwright.ticks.v1`, all partitioned
alike, so a cart, its buyer's orders and the ticks that fire it meet in one partition, and the
tables written here live in that partition's changelog (a restart or a move recovers them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from schemas.contract.carts import CartUpdated
from schemas.contract.normalized import OrderUpdated
from schemas.contract.replay import replay_run
from schemas.contract.topics import CARTS, ORDERS, TICKS
from schemas.dotdigital.cart_insight import (
    CART_INSIGHT_COLLECTION,
    CART_INSIGHT_TYPE,
    CartPhase,
    cart_insight,
)
from schemas.dotdigital.commands import (
    ContactWrite,
    EnrolmentWrite,
    InsightWrite,
    Lane,
    WriteCommand,
)
from schemas.rules.carts import (
    CartState,
    Firing,
    Fold,
    complete,
    disarm,
    fire,
    fold_cart,
    fold_order,
    is_stale,
)
from schemas.rules.ticks import Tick
from streams.runtime.faults import Record, guarded
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.tables import bytes_table
from streams.runtime.topics import TopicSet, bytes_source, encoded

log = logging.getLogger(__name__)

ABANDONED_CART = "abandoned_cart"


@dataclass(frozen=True)
class CartRules:
    """The settings the carts agent works by."""

    abandon_after: timedelta
    reenrol_after: timedelta
    store_url: str
    program_id: int | None = None
    stale_after: timedelta = timedelta(days=1)


class CartBook:
    """The `carts` table (state per email and quote) and `cart_timers` (only armed carts:
    `<partition> <due ISO time>`), so a tick scans the armed carts, not every cart."""

    def __init__(self, carts: Any, timers: Any) -> None:
        self._carts = carts
        self._timers = timers
        # Between `begin` and `commit`: the states kept, written only once the writes they
        # stand for are in Kafka (as the join's ContactBook does, and for the same reason).
        self._staged: dict[bytes, CartState] | None = None

    @staticmethod
    def key(email: str, quote_id: str) -> bytes:
        return f"{email}\n{quote_id}".encode()

    def begin(self) -> None:
        self._staged = {}

    def commit(self) -> None:
        staged, self._staged = self._staged or {}, None
        for key, state in staged.items():
            self._write(key, state)

    def discard(self) -> None:
        self._staged = None

    def load(self, key: bytes) -> CartState | None:
        if self._staged is not None and key in self._staged:
            return self._staged[key]
        stored = self._carts.get(key)
        return CartState.model_validate_json(stored) if stored else None

    def keep(self, key: bytes, state: CartState) -> None:
        if self._staged is None:
            self._write(key, state)
        else:
            self._staged[key] = state

    def _write(self, key: bytes, state: CartState) -> None:
        self._carts[key] = state.model_dump_json().encode()
        if state.due_at is not None:
            due = state.due_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
            timer = f"{state.partition} {due}".encode()
            if self._timers.get(key) != timer:
                self._timers[key] = timer
        elif key in self._timers:
            del self._timers[key]

    def due(self, partition: int, clock: datetime) -> list[bytes]:
        """Keys of this partition's carts due at `clock`, soonest first: one pass over the armed
        carts this worker holds, comparing text (UTC ISO times sort as they compare)."""
        now = clock.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        found: list[tuple[str, bytes]] = []
        for key, value in list(self._timers.items()):
            held, _, due = value.decode().partition(" ")
            if held == str(partition) and due <= now:
                found.append((due, key))
        return [key for _, key in sorted(found)]

    def armed(self) -> int:
        return len(self._timers)


class CartRecords:
    """The carts agent's work on one record: a cart, an order or a tick; never fatal."""

    def __init__(
        self,
        book: CartBook,
        rules: CartRules,
        topics: TopicSet,
        incidents: Incidents,
        metrics: Metrics,
        *,
        route: Callable[[str], str] = lambda email: email,
        moved_to: Callable[[str], str | None] = lambda email: None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._book = book
        self._moved_to = moved_to
        self._rules = rules
        self._topics = topics
        self._incidents = incidents
        self._metrics = metrics
        self._route = route
        self._now = now

    async def one(self, event: Any) -> None:
        """Fold the consumed `event` (dead-lettered should it fail), or fire what a tick makes due."""
        topic = event.message.topic
        if topic == TICKS:
            await self._tick(event)
            return
        if replay_run(event.headers) is not None:
            # A replay is no news: a timer armed again would fire a cart reminder twice.
            self._metrics.add("carts.replayed_passed_over")
            return
        self._book.begin()
        async with guarded(self._incidents, Record.of(event)) as record:
            if topic == CARTS:
                writes = self._cart(event, record)
            else:
                writes = self._order(event, record)
        if record.failed:
            self._book.discard()
            return
        await self._sent_then_kept(writes)

    def _cart(self, event: Any, record: Record) -> list[WriteCommand]:
        cart = CartUpdated.model_validate_json(event.value)
        record.subject, record.event_id = f"cart {cart.quote_id}", cart.event_id
        if cart.email is None:
            # A guest before the payment step: no timer without an email. The snapshot that
            # brings the email goes to the email's partition, and arms the cart there.
            self._metrics.add("carts.without_email")
            return []
        record.email = cart.email
        key = self._book.key(cart.email, cart.quote_id)
        partition = event.message.partition
        folded = fold_cart(
            self._book.load(key),
            cart,
            partition=partition,
            abandon_after=self._rules.abandon_after,
        )
        self._metrics.add("carts.snapshots" if folded.changed else "carts.snapshots_unchanged")
        return self._kept(key, folded)

    def _order(self, event: Any, record: Record) -> list[WriteCommand]:
        order = OrderUpdated.model_validate_json(event.value)
        if order.quote_id is None:
            return []
        record.subject, record.event_id = f"order {order.increment_id}", order.event_id
        record.email = order.email
        key = self._book.key(order.email, str(order.quote_id))
        folded = fold_order(self._book.load(key), order, partition=event.message.partition)
        return self._kept(key, folded)

    def _kept(self, key: bytes, folded: Fold) -> list[WriteCommand]:
        """Store the folded state; a cart bought after its record was sent completes it."""
        if not folded.changed:
            return []
        state = folded.state
        writes: list[WriteCommand] = []
        if folded.complete and state.cart is not None:
            writes = [self._insight(state.cart, CartPhase.ORDER_COMPLETE)]
            state = complete(state)
            self._metrics.add("carts.completed")
        self._book.keep(key, state)
        return writes

    async def _tick(self, event: Any) -> None:
        try:
            tick = Tick.model_validate_json(event.value)
        except ValidationError as exc:
            await self._incidents.unreadable(event, "a tick", exc.error_count())
            return
        partition = event.message.partition
        for key in self._book.due(partition, tick.clock):
            writes: list[WriteCommand] = []
            moved: CartUpdated | None = None
            record = Record.of(event)
            self._book.begin()
            async with guarded(self._incidents, record):
                moved = self._moved(key)
                writes = [] if moved else self._fire(key, tick.clock, record)
            if record.failed:
                self._book.discard()
                self._disarm(key)
                continue
            if moved is not None:
                handed = await self._topics.carts.send(
                    key=(moved.email or "").encode(), value=encoded(moved)
                )
                await handed
            await self._sent_then_kept(writes)

    def _moved(self, key: bytes) -> CartUpdated | None:
        """A due cart whose customer changed email since it was armed: Dotdigital's contact now
        lives under the new address (the old one must not come back), so the cart is disarmed
        here and its snapshot handed to the new email's partition, where it is due as it was."""
        state = self._book.load(key)
        if state is None or state.cart is None:
            return None
        moved_to = self._moved_to(state.email)
        if moved_to is None:
            return None
        self._book.keep(key, disarm(state))
        self._metrics.add("carts.moved")
        return state.cart.model_copy(update={"email": moved_to})

    def _fire(self, key: bytes, clock: datetime, record: Record) -> list[WriteCommand]:
        state = self._book.load(key)
        if state is None or state.due_at is None or state.due_at > clock:
            return []  # a timer whose cart changed in between: nothing is due
        record.subject, record.email = f"cart {state.quote_id}", state.email
        if is_stale(state, clock, stale_after=self._rules.stale_after):
            self._book.keep(key, disarm(state))
            self._metrics.add("carts.stale")
            return []
        firing = fire(state, clock, reenrol_after=self._rules.reenrol_after)
        writes = self._firing_writes(firing)
        self._book.keep(key, firing.state)
        self._metrics.add("carts.fired")
        self._metrics.observe("carts.fire_lateness", (self._now() - state.due_at).total_seconds())
        log.info(
            "cart abandoned",
            extra={"quote_id": state.quote_id, "enrol": firing.enrol, "due_at": str(state.due_at)},
        )
        return writes

    def _firing_writes(self, firing: Firing) -> list[WriteCommand]:
        """The contact first (Dotdigital wants it before its insight data), the record, then the
        enrolment, all on the realtime lane, in order for the one email."""
        cart = firing.cart
        email = firing.state.email
        writes = [
            WriteCommand(
                command=ContactWrite(
                    lane=Lane.REALTIME,
                    email=email,
                    source_event_id=cart.event_id,
                    issued_at=self._now(),
                )
            ),
            self._insight(cart, CartPhase.ORDER_PENDING),
        ]
        program = self._rules.program_id
        if firing.enrol and program is not None:
            self._metrics.add("carts.enrolments")
            writes.append(
                WriteCommand(
                    command=EnrolmentWrite(
                        lane=Lane.REALTIME,
                        email=email,
                        program_id=program,
                        trigger=ABANDONED_CART,
                        subject=firing.subject,
                        source_event_id=cart.event_id,
                        issued_at=self._now(),
                    )
                )
            )
        return writes

    def _insight(self, cart: CartUpdated, phase: CartPhase) -> WriteCommand:
        return WriteCommand(
            command=InsightWrite(
                lane=Lane.REALTIME,
                email=cart.email,
                collection=CART_INSIGHT_COLLECTION,
                collection_type=CART_INSIGHT_TYPE,
                record=cart_insight(cart, phase, self._rules.store_url),
                subject=f"cart {cart.quote_id} ({phase.value})",
                source_event_id=cart.event_id,
                issued_at=self._now(),
            )
        )

    def _disarm(self, key: bytes) -> None:
        """A cart that failed to fire is dead-lettered once, not at every tick."""
        state = self._book.load(key)
        if state is not None:
            self._book.keep(key, disarm(state))

    async def _sent_then_kept(self, writes: list[WriteCommand]) -> None:
        """Send the writes, wait until Kafka has them, then commit the staged states: a worker
        killed in between refires the cart (the ledger makes its enrolment a no-op) rather than
        recovering a cart marked fired whose writes never left."""
        try:
            acks = [
                await self._topics.writes_realtime.send(
                    key=self._route(write.command.email or "").encode(), value=encoded(write)
                )
                for write in writes
            ]
            if acks:
                await asyncio.gather(*acks)
        except BaseException:
            self._book.discard()
            raise
        self._book.commit()


def register(
    app: Any,
    topics: TopicSet,
    incidents: Incidents,
    partitions: int,
    metrics: Metrics,
    rules: CartRules,
    *,
    route: Callable[[str], str] = lambda email: email,
    moved_to: Callable[[str], str | None] = lambda email: None,
) -> Any:
    """Declare the carts tables and the carts agent on `app`."""
    book = CartBook(
        bytes_table(app, "carts", partitions), bytes_table(app, "cart_timers", partitions)
    )
    records = CartRecords(book, rules, topics, incidents, metrics, route=route, moved_to=moved_to)
    source = bytes_source(
        app,
        CARTS,
        ORDERS,
        TICKS,
    )

    @app.agent(source, name="carts")
    async def carts(stream: Any) -> None:
        async for event in stream.events():
            await records.one(event)

    return carts
