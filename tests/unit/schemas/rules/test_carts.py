"""Abandoned-cart rules in event time: arming, due, firing once, re-enrolment, cancellation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from schemas.contract.carts import CartLine, CartUpdated
from schemas.contract.normalized import OrderUpdated
from schemas.rules.carts import CartState, fire, fold_cart, fold_order, is_due

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
LINE = CartLine(sku="24-MB01", name="Bag", qty=Decimal(1), price=Decimal(34), row_total=Decimal(34))


def cart(at: datetime, *, items: int = 1, **changes: Any) -> CartUpdated:
    fields: dict[str, Any] = {
        "event_id": f"ev-{at.isoformat()}-{items}",
        "occurred_at": at,
        "quote_id": "41",
        "email": "ann@example.com",
        "items": [LINE] * items,
        "subtotal": Decimal(34 * items),
        "grand_total": Decimal(34 * items),
        "created_at": T0,
        "updated_at": at,
    }
    return CartUpdated(**(fields | changes))


def order(quote_id: int = 41) -> OrderUpdated:
    return OrderUpdated(
        event_id="ev-order",
        occurred_at=T0,
        email="ann@example.com",
        entity_id=7,
        increment_id="000000007",
        is_guest=True,
        quote_id=quote_id,
        placed_at=T0,
        updated_at=T0,
    )


def folded(*snapshots: CartUpdated) -> CartState | None:
    state: CartState | None = None
    for snapshot in snapshots:
        state = fold_cart(state, snapshot, partition=3, abandon_after=HOUR).state
    return state


def test_a_cart_with_items_is_due_an_hour_of_event_time_after_its_last_change() -> None:
    state = folded(cart(T0), cart(T0 + timedelta(minutes=5), items=2))

    assert state is not None
    assert state.due_at == T0 + timedelta(minutes=5) + HOUR
    assert not is_due(state, T0 + timedelta(minutes=64, seconds=59))
    assert is_due(state, T0 + timedelta(minutes=65))


def test_an_older_snapshot_arriving_late_does_not_push_the_timer_back_or_change_the_cart() -> None:
    late = cart(T0, items=1)
    state = folded(cart(T0 + timedelta(minutes=5), items=2), late, late)

    assert state is not None
    assert state.due_at == T0 + timedelta(minutes=5) + HOUR
    assert state.cart is not None and len(state.cart.items) == 2


def test_every_arrival_order_with_duplicates_ends_in_the_same_state() -> None:
    saves = [cart(T0, items=0), cart(T0, items=1), cart(T0 + timedelta(seconds=30), items=2)]
    results = {
        folded(*order_).model_dump_json()  # type: ignore[union-attr]
        for order_ in itertools.permutations([*saves, saves[1]])
    }
    assert len(results) == 1


def test_an_emptied_or_deactivated_cart_has_no_timer() -> None:
    emptied = folded(cart(T0), cart(T0 + timedelta(minutes=1), items=0))
    deactivated = folded(cart(T0), cart(T0 + timedelta(minutes=1), is_active=False))

    assert emptied is not None and emptied.due_at is None
    assert deactivated is not None and deactivated.due_at is None and deactivated.ordered is None


def test_a_cart_without_an_email_cannot_be_folded_under_a_timer() -> None:
    with pytest.raises(ValueError, match="no email"):
        fold_cart(None, cart(T0, email=None), partition=0, abandon_after=HOUR)


def test_firing_is_once_per_arming_and_names_it_in_the_subject() -> None:
    state = folded(cart(T0))
    assert state is not None
    with pytest.raises(ValueError, match="not due"):
        fire(state, T0 + HOUR - timedelta(microseconds=1), reenrol_after=DAY)

    firing = fire(state, T0 + HOUR, reenrol_after=DAY)

    assert firing.enrol
    assert firing.subject == "cart 41 abandoned 2026-11-26 09:00:00"
    assert not is_due(firing.state, T0 + 2 * HOUR)
    assert firing.state.insight_sent and firing.state.enrolled_at == T0 + HOUR
    # The same snapshot again (a redelivery) does not re-arm the fired cart.
    again = fold_cart(firing.state, cart(T0), partition=3, abandon_after=HOUR)
    assert not again.changed and again.state.due_at is None


def test_a_changed_cart_fires_again_but_enrols_again_only_after_the_reenrol_delay() -> None:
    state = folded(cart(T0))
    assert state is not None
    first = fire(state, T0 + HOUR, reenrol_after=DAY).state
    soon = fold_cart(first, cart(T0 + 2 * HOUR, items=2), partition=3, abandon_after=HOUR).state
    too_soon = fire(soon, T0 + 3 * HOUR, reenrol_after=DAY)
    assert not too_soon.enrol  # the record is refreshed, the program not entered twice a day
    later = fold_cart(
        too_soon.state, cart(T0 + DAY, items=3), partition=3, abandon_after=HOUR
    ).state
    again = fire(later, T0 + DAY + HOUR, reenrol_after=DAY)

    assert again.enrol
    assert again.subject == "cart 41 abandoned 2026-11-27 09:00:00"


def test_an_order_before_the_timer_cancels_it_and_no_record_needs_completing() -> None:
    state = folded(cart(T0))
    result = fold_order(state, order(), partition=3)

    assert result.changed and not result.complete
    assert result.state.ordered == "000000007" and not is_due(result.state, T0 + DAY)


def test_an_order_seen_before_the_cart_keeps_the_cart_from_ever_arming() -> None:
    bought = fold_order(None, order(), partition=3).state
    late = fold_cart(bought, cart(T0), partition=3, abandon_after=HOUR)

    assert late.state.due_at is None and not late.complete


def test_an_order_after_the_firing_completes_the_record_once() -> None:
    state = folded(cart(T0))
    assert state is not None
    fired = fire(state, T0 + HOUR, reenrol_after=DAY).state

    by_order = fold_order(fired, order(), partition=3)
    by_snapshot = fold_cart(
        fired,
        cart(T0 + 2 * HOUR, is_active=False, reserved_order_id="000000007"),
        partition=3,
        abandon_after=HOUR,
    )

    assert by_order.complete and by_snapshot.complete
    assert by_snapshot.state.ordered == "000000007"
    done = by_order.state.model_copy(update={"completed": True})
    assert not fold_order(done, order(), partition=3).changed
