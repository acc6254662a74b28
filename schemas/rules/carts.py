"""Abandoned carts in event time: fold cart snapshots and orders into a cart's timer, fire it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, Field

from schemas.contract.carts import CartUpdated
from schemas.contract.normalized import OrderUpdated


class CartState(BaseModel):
    """The `carts` table value for one quote under one email (the email's partition)."""

    quote_id: str
    email: str
    partition: int = Field(description="the table partition it lives in: ticks of it fire it")
    cart: CartUpdated | None = Field(default=None, description="the newest snapshot seen")
    due_at: datetime | None = Field(
        default=None, description="armed: abandoned when the clock passes this (event time)"
    )
    armed_for: datetime | None = Field(
        default=None, description="the snapshot's `updated_at` the timer was armed for"
    )
    fired_for: datetime | None = Field(
        default=None, description="the `updated_at` of the snapshot last fired as abandoned"
    )
    enrolled_at: datetime | None = Field(default=None, description="the last enrolment's clock")
    insight_sent: bool = Field(default=False, description="a CartInsight record exists for it")
    ordered: str | None = Field(
        default=None, description="the order the cart became (increment id), once bought"
    )
    completed: bool = Field(default=False, description="ORDER_COMPLETE sent")

    @property
    def phase(self) -> str:
        """In words, for operators: ordered, armed, fired, or idle."""
        if self.ordered is not None:
            return "ordered"
        if self.due_at is not None:
            return "armed"
        return "fired" if self.fired_for is not None else "idle"


@dataclass(frozen=True)
class Fold:
    """A cart state after one event, and whether the cart needs its ORDER_COMPLETE record."""

    state: CartState
    changed: bool
    complete: bool = False


@dataclass(frozen=True)
class Firing:
    """What firing one due cart sends: the record always, the enrolment unless too soon."""

    state: CartState
    cart: CartUpdated
    enrol: bool
    subject: str


def _rank(cart: CartUpdated) -> tuple[datetime, bool, bool, int, Decimal]:
    """Newer saves win; within one second (Commerce's resolution) the checked-out, then the
    fuller save wins, so any arrival order of the same saves ends in the same state."""
    qty = sum((line.qty for line in cart.items), Decimal(0))
    checked_out = not cart.is_active or cart.reserved_order_id is not None
    return (cart.updated_at, checked_out, cart.reserved_order_id is not None, len(cart.items), qty)


def abandonable(cart: CartUpdated) -> bool:
    """A cart that can be abandoned: active, not checked out, with items and an email."""
    return (
        cart.is_active
        and cart.reserved_order_id is None
        and bool(cart.items)
        and cart.email is not None
    )


def fold_cart(
    state: CartState | None, cart: CartUpdated, *, partition: int, abandon_after: timedelta
) -> Fold:
    """The cart's state after a snapshot: older ones and repeats change nothing; a change arms
    the timer at `updated_at + abandon_after`; an emptied or deactivated cart disarms it; a
    checked-out cart is bought (and completes a record already sent)."""
    if cart.email is None:
        raise ValueError(f"cart {cart.quote_id} has no email: it is kept under no timer")
    current = state or CartState(quote_id=cart.quote_id, email=cart.email, partition=partition)
    if current.cart is not None and _rank(cart) <= _rank(current.cart):
        return Fold(current, changed=False)
    update: dict[str, object] = {"cart": cart}
    if current.ordered is None and cart.reserved_order_id is not None:
        update["ordered"] = cart.reserved_order_id
    bought = current.ordered is not None or cart.reserved_order_id is not None
    if bought or not abandonable(cart):
        update |= {"due_at": None, "armed_for": None}
    elif cart.updated_at != current.fired_for:
        update |= {"due_at": cart.updated_at + abandon_after, "armed_for": cart.updated_at}
    folded = current.model_copy(update=update)
    return Fold(folded, changed=True, complete=_completes(folded))


def fold_order(state: CartState | None, order: OrderUpdated, *, partition: int) -> Fold:
    """An order placed from the cart: no timer any more; a record already sent completes."""
    if order.quote_id is None:
        raise ValueError(f"order {order.increment_id} names no cart")
    current = state or CartState(
        quote_id=str(order.quote_id), email=order.email, partition=partition
    )
    if current.ordered is not None:
        return Fold(current, changed=False)
    folded = current.model_copy(
        update={"ordered": order.increment_id, "due_at": None, "armed_for": None}
    )
    return Fold(folded, changed=True, complete=_completes(folded))


def _completes(state: CartState) -> bool:
    return state.ordered is not None and state.insight_sent and not state.completed


def is_due(state: CartState, clock: datetime) -> bool:
    """Armed, and the clock has passed the due time: never before it."""
    return state.due_at is not None and state.ordered is None and clock >= state.due_at


def fire(state: CartState, clock: datetime, *, reenrol_after: timedelta) -> Firing:
    """Fire a due cart: its record (ORDER_PENDING) and, unless the cart enrolled less than
    `reenrol_after` ago, an enrolment whose subject names this arming, so a refire after a
    crash is the same enrolment (the ledger makes it a no-op)."""
    if not is_due(state, clock) or state.cart is None or state.armed_for is None:
        raise ValueError(f"cart {state.quote_id} is not due at {clock.isoformat()}")
    enrol = state.enrolled_at is None or clock - state.enrolled_at >= reenrol_after
    fired = state.model_copy(
        update={
            "due_at": None,
            "armed_for": None,
            "fired_for": state.armed_for,
            "insight_sent": True,
            "enrolled_at": clock if enrol else state.enrolled_at,
        }
    )
    subject = f"cart {state.quote_id} abandoned {state.armed_for.strftime('%Y-%m-%d %H:%M:%S')}"
    return Firing(fired, state.cart, enrol, subject)


def complete(state: CartState) -> CartState:
    """The state once ORDER_COMPLETE has been sent."""
    return state.model_copy(update={"completed": True})
