"""Storefront identity: browser events wait per cart (`storefront_carts` table) until Commerce
confirms the cart's email, or go to a logged-in shopper's claimed email to be checked there;
resolved ones are published on `storefront.events.v1`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from schemas.contract.carts import CartUpdated
from schemas.contract.storefront import CartIdentified, StorefrontClaim, StorefrontReceived
from schemas.contract.topics import STOREFRONT_CARTS, STOREFRONT_RAW
from schemas.email import InvalidEmail, normalize_email
from schemas.normalize.storefront import cart_key, resolved
from schemas.rules.storefront_waits import (
    CartWait,
    WaitBounds,
    WaitOutcome,
    expire,
    on_email,
    on_event,
)
from streams.runtime.faults import Record, guarded
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.tables import bytes_table
from streams.runtime.topics import TopicSet, bytes_source, encoded
from streams.settings import StorefrontSettings

log = logging.getLogger(__name__)

CART_IDENTITY = "cart"
# How often (worker clock) the waiting carts this worker holds are swept for expired events.
SWEEP_EVERY = timedelta(seconds=60)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Resolver:
    """The resolve agent's work on one record; the table is read and written as `CartWait`s."""

    table: Any
    topics: TopicSet
    metrics: Metrics
    bounds: WaitBounds
    skew: timedelta
    clock: Callable[[], datetime] = _now
    next_sweep: datetime = field(default_factory=_now)

    def _row(self, key: bytes) -> CartWait | None:
        stored = self.table.get(key)
        return CartWait.model_validate_json(stored) if stored else None

    async def _settle(self, key: bytes, outcome: WaitOutcome) -> None:
        self.table[key] = outcome.state.model_dump_json().encode()
        if outcome.expired:
            self.metrics.add("storefront.expired", outcome.expired)
        email = outcome.state.email
        if email is None:
            return
        for raw in outcome.released:
            event = resolved(raw, email, CART_IDENTITY, self.skew)
            await self.topics.storefront_events.send(key=email.encode(), value=encoded(event))
        if outcome.released:
            self.metrics.add("storefront.resolved", len(outcome.released))

    async def on_raw(self, key: bytes, raw: StorefrontReceived) -> None:
        claimed = raw.event.claimed_email
        state = self._row(key) if key.startswith(b"cart:") else None
        if claimed is not None and (state is None or state.email is None):
            try:
                email = normalize_email(claimed)
            except InvalidEmail:
                raw = raw.model_copy(update={"event": raw.event.without_claim()})
            else:
                claim = StorefrontClaim(email=email, received=raw)
                await self.topics.storefront_claims.send(key=email.encode(), value=encoded(claim))
                return
        if not key.startswith(b"cart:"):
            # No cart and no claim: nothing Commerce knows can ever say whose it is.
            self.metrics.add("storefront.unresolvable")
            return
        await self._settle(key, on_event(state, raw, self.clock(), self.bounds))

    async def on_cart(self, key: bytes, cart: CartIdentified) -> None:
        outcome = on_email(self._row(key), cart.email, self.clock(), self.bounds)
        await self._settle(key, outcome)

    def sweep(self) -> None:
        """Expire what waited too long in the carts this worker holds (from inside the agent:
        Faust writes tables only there)."""
        now = self.clock()
        if now < self.next_sweep:
            return
        self.next_sweep = now + SWEEP_EVERY
        for key, stored in list(self.table.items()):
            state = CartWait.model_validate_json(stored)
            if state.email is not None or not state.waiting:
                continue
            outcome = expire(state, now, self.bounds)
            if outcome.expired:
                self.metrics.add("storefront.expired", outcome.expired)
                if outcome.state.waiting:
                    self.table[key] = outcome.state.model_dump_json().encode()
                else:
                    del self.table[key]


def register(
    app: Any,
    topics: TopicSet,
    incidents: Incidents,
    partitions: int,
    metrics: Metrics,
    settings: StorefrontSettings,
) -> Resolver:
    """Declare the `storefront_carts` table, the cart-email re-key and the resolve agents."""
    resolver = Resolver(
        bytes_table(app, "storefront_carts", partitions),
        topics,
        metrics,
        WaitBounds(settings.wait_events, settings.wait_age),
        settings.timestamp_skew,
    )

    @app.agent(topics.carts, name="storefront_cart_emails")
    async def cart_emails(stream: Any) -> None:
        async for event in stream.events():
            async with guarded(incidents, Record.of(event)):
                try:
                    cart = CartUpdated.model_validate_json(event.value)
                except ValidationError:
                    continue  # the carts stage dead-letters it; once is enough
                if not cart.email:
                    continue
                identified = CartIdentified(
                    quote_id=cart.quote_id, email=cart.email, source_event_id=cart.event_id
                )
                await topics.storefront_carts.send(
                    key=cart_key(cart.quote_id).encode(), value=encoded(identified)
                )

    source = bytes_source(
        app,
        STOREFRONT_RAW,
        STOREFRONT_CARTS,
    )

    @app.agent(source, name="storefront_resolve")
    async def resolve(stream: Any) -> None:
        async for event in stream.events():
            key = event.key or b""
            async with guarded(incidents, Record.of(event)):
                if event.message.topic == STOREFRONT_CARTS:
                    cart = await incidents.read(event, CartIdentified, "a v1 cart identity")
                    if cart is not None:
                        await resolver.on_cart(key, cart)
                else:
                    raw = await incidents.read(event, StorefrontReceived, "a v1 storefront event")
                    if raw is not None:
                        await resolver.on_raw(key, raw)
                resolver.sweep()

    return resolver
