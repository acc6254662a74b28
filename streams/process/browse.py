"""The browse agent (per email): resolved storefront events and orders → the `browse` table →
a browse-abandonment enrolment (realtime lane) and category history records (batch lane); and
logged-in shoppers' claimed emails, confirmed only when the contacts table knows a customer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from schemas.contract.normalized import OrderUpdated
from schemas.contract.replay import replay_run
from schemas.contract.storefront import StorefrontClaim, StorefrontEvent
from schemas.contract.topics import ORDERS, STOREFRONT_CLAIMS, STOREFRONT_EVENTS
from schemas.dotdigital.categories import CATEGORY_HISTORY_TYPE, category_record
from schemas.dotdigital.commands import (
    ContactWrite,
    EnrolmentWrite,
    InsightWrite,
    Lane,
    WriteCommand,
)
from schemas.normalize.storefront import cart_key, resolved
from schemas.rules.browse import BrowseOutcome, BrowseRules, BrowseState, fold_order, fold_view
from streams.process.joiner import Joiner
from streams.runtime.faults import Record, guarded
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.tables import bytes_table
from streams.runtime.topics import TopicSet, bytes_source, encoded
from streams.settings import BrowseSettings

BROWSE_ABANDONED = "browse_abandoned"
CUSTOMER_IDENTITY = "customer"


@dataclass
class Browse:
    """The browse agent's work on one record."""

    table: Any
    topics: TopicSet
    joiner: Joiner
    metrics: Metrics
    rules: BrowseRules
    program: int | None
    collection: str
    skew: timedelta
    # The acknowledgements of the writes one view sent (awaited before its state is kept).
    _acks: list[Any] = field(default_factory=list)

    def _row(self, email: str) -> BrowseState | None:
        stored = self.table.get(email.encode())
        return BrowseState.model_validate_json(stored) if stored else None

    def _keep(self, email: str, state: BrowseState) -> None:
        self.table[email.encode()] = state.model_dump_json().encode()

    async def _write(self, email: str, command: Any) -> None:
        lane = self.topics.writes_realtime if command.lane is Lane.REALTIME else self.topics.writes
        write = WriteCommand(command=command)
        self._acks.append(
            await lane.send(key=self.joiner.route(email).encode(), value=encoded(write))
        )

    async def on_claim(self, claim: StorefrontClaim) -> None:
        """A logged-in shopper's email counts only if Commerce registered a customer with it."""
        contact = self.joiner.book.contact(claim.email)
        if contact is not None and contact.registered and contact.moved_to is None:
            event = resolved(claim.received, claim.email, CUSTOMER_IDENTITY, self.skew)
            await self.topics.storefront_events.send(key=claim.email.encode(), value=encoded(event))
            self.metrics.add("storefront.resolved")
            return
        self.metrics.add("storefront.claim_refused")
        raw = claim.received
        cart = raw.event.cart_id
        if cart is None:
            self.metrics.add("storefront.unresolvable")
            return
        # Waits for its cart's email like a guest's event.
        guest = raw.model_copy(update={"event": raw.event.without_claim()})
        await self.topics.storefront_raw.send(key=cart_key(cart).encode(), value=encoded(guest))

    async def on_event(self, event: StorefrontEvent) -> None:
        email = event.email
        outcome = fold_view(self._row(email), event, self.rules)
        self._acks = []
        await self._written(email, outcome, event)
        if self._acks:
            await asyncio.gather(*self._acks)
        # Only now, the writes in Kafka: a worker killed before this sees the view again.
        self._keep(email, outcome.state)

    async def _written(self, email: str, outcome: BrowseOutcome, event: StorefrontEvent) -> None:
        """The view's writes: its categories' records, and the enrolment it may reach."""
        now = datetime.now(UTC)
        if outcome.contact:
            # Category records are contact-scope: a guest's contact may not exist yet.
            await self._write(
                email,
                ContactWrite(
                    lane=Lane.BATCH, email=email, source_event_id=event.event_id, issued_at=now
                ),
            )
        for seen in outcome.categories:
            await self._write(
                email,
                InsightWrite(
                    lane=Lane.BATCH,
                    email=email,
                    collection=self.collection,
                    collection_type=CATEGORY_HISTORY_TYPE,
                    record=category_record(email, seen),
                    subject=f"category {seen.path}",
                    source_event_id=event.event_id,
                    issued_at=now,
                ),
            )
        await self._enrol(email, outcome.enrol, event, now)

    async def _enrol(
        self, email: str, subject: str | None, event: StorefrontEvent, now: datetime
    ) -> None:
        """The threshold view: the contact upsert, then the enrolment, on the realtime lane."""
        if subject is None:
            return
        self.metrics.add("browse.threshold_reached")
        if self.program is None:
            return
        # The contact first (a guest's may not exist yet), then the enrolment, in lane order.
        contact = ContactWrite(
            lane=Lane.REALTIME, email=email, source_event_id=event.event_id, issued_at=now
        )
        await self._write(email, contact)
        enrolment = EnrolmentWrite(
            lane=Lane.REALTIME,
            email=email,
            program_id=self.program,
            trigger=BROWSE_ABANDONED,
            subject=subject,
            source_event_id=event.event_id,
            issued_at=now,
        )
        await self._write(email, enrolment)
        self.metrics.add("browse.enrolments")

    def on_order(self, order: OrderUpdated) -> None:
        self._keep(order.email, fold_order(self._row(order.email), order))


def register(
    app: Any,
    topics: TopicSet,
    incidents: Incidents,
    partitions: int,
    metrics: Metrics,
    joiner: Joiner,
    settings: BrowseSettings,
    *,
    program: int | None,
    skew: timedelta,
) -> Browse:
    """Declare the `browse` table and the browse agent on `app`."""
    browse = Browse(
        bytes_table(app, "browse", partitions),
        topics,
        joiner,
        metrics,
        BrowseRules(settings.views, settings.within),
        program,
        settings.category_collection,
        skew,
    )
    source = bytes_source(
        app,
        STOREFRONT_EVENTS,
        STOREFRONT_CLAIMS,
        ORDERS,
    )

    @app.agent(source, name="browse")
    async def agent(stream: Any) -> None:
        async for event in stream.events():
            topic = event.message.topic
            if replay_run(event.headers) is not None:
                continue  # a replayed order is no news: its purchase already ended any wait
            async with guarded(incidents, Record.of(event)):
                if topic == STOREFRONT_EVENTS:
                    resolved_event = await incidents.read(
                        event, StorefrontEvent, "a v1 storefront event"
                    )
                    if resolved_event is not None:
                        await browse.on_event(resolved_event)
                elif topic == STOREFRONT_CLAIMS:
                    claim = await incidents.read(event, StorefrontClaim, "a v1 storefront claim")
                    if claim is not None:
                        await browse.on_claim(claim)
                else:
                    try:
                        order = OrderUpdated.model_validate_json(event.value)
                    except ValidationError:
                        continue  # the join dead-letters it; once is enough
                    browse.on_order(order)

    return browse
