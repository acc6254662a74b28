"""Browser events waiting for the email Commerce confirms for their cart: bounded in count and age,
released when the cart's email arrives, expired silently otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from schemas.contract.storefront import StorefrontReceived


class CartWait(BaseModel):
    """One cart's row in the `storefront_carts` table: its email once known, what waits for it."""

    model_config = ConfigDict(frozen=True)

    email: str | None = None
    waiting: list[StorefrontReceived] = Field(default_factory=list)


@dataclass(frozen=True)
class WaitBounds:
    """How many events one cart keeps waiting, and for how long (by arrival)."""

    max_events: int = 50
    max_age: timedelta = timedelta(days=1)


@dataclass
class WaitOutcome:
    """The cart's row after one step, the events it releases and how many it let expire."""

    state: CartWait
    released: list[StorefrontReceived] = field(default_factory=list)
    expired: int = 0


def expire(state: CartWait, now: datetime, bounds: WaitBounds) -> WaitOutcome:
    """Drop events older than `max_age`, and the oldest beyond `max_events`."""
    fresh = [raw for raw in state.waiting if now - raw.received_at <= bounds.max_age]
    kept = fresh[-bounds.max_events :] if bounds.max_events else []
    expired = len(state.waiting) - len(kept)
    if not expired:
        return WaitOutcome(state)
    return WaitOutcome(state.model_copy(update={"waiting": kept}), expired=expired)


def on_event(
    state: CartWait | None, raw: StorefrontReceived, now: datetime, bounds: WaitBounds
) -> WaitOutcome:
    """A browser event of this cart: released at once when the cart's email is known, else it
    waits (a resent beacon, same id, waits once)."""
    current = state or CartWait()
    if current.email is not None:
        return WaitOutcome(current, released=[raw])
    if any(waiting.event_id == raw.event_id for waiting in current.waiting):
        return expire(current, now, bounds)
    added = current.model_copy(update={"waiting": [*current.waiting, raw]})
    return expire(added, now, bounds)


def on_email(state: CartWait | None, email: str, now: datetime, bounds: WaitBounds) -> WaitOutcome:
    """Commerce says the cart carries `email`: whatever still waits (and is fresh) goes to it."""
    current = expire(state or CartWait(), now, bounds)
    released = current.state.waiting
    return WaitOutcome(CartWait(email=email), released=released, expired=current.expired)
