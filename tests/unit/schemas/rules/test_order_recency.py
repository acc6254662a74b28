"""Which of two snapshots of an order is the newer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from schemas.commerce.orders import CommerceOrder, CommerceShipment
from schemas.contract.normalized import OrderUpdated
from schemas.normalize.orders import order_updated
from schemas.rules.order_recency import STATE_RANK, is_newer

OCCURRED = datetime(2026, 11, 26, 10, 15, 4, tzinfo=UTC)


def _normalize(order: CommerceOrder, shipments: Iterable[CommerceShipment] = ()) -> OrderUpdated:
    return order_updated(order, shipments, event_id="ev-1", occurred_at=OCCURRED)


def _snapshot(
    base: OrderUpdated, *, at: datetime, state: str, shipped: Decimal = Decimal(0)
) -> OrderUpdated:
    return base.model_copy(
        update={"updated_at": at, "state": state, "shipped": {10: shipped} if shipped else {}}
    )


def test_is_newer_prefers_later_updated_at_then_state_then_shipments(
    guest_order: CommerceOrder,
) -> None:
    base = _normalize(guest_order)
    t0 = base.updated_at
    placed = _snapshot(base, at=t0, state="new")
    invoiced = _snapshot(base, at=t0, state="processing")
    shipped = _snapshot(base, at=t0, state="processing", shipped=Decimal(2))
    later = _snapshot(base, at=t0 + timedelta(seconds=1), state="new")

    assert is_newer(None, placed)
    assert is_newer(placed, invoiced) and not is_newer(invoiced, placed)
    assert is_newer(invoiced, shipped) and not is_newer(shipped, invoiced)
    assert is_newer(shipped, later) and not is_newer(later, shipped)
    assert not is_newer(placed, placed)


def test_is_newer_treats_cancel_as_terminal(guest_order: CommerceOrder) -> None:
    base = _normalize(guest_order)
    canceled = _snapshot(base, at=base.updated_at, state="canceled")
    for state in STATE_RANK:
        if state != "canceled":
            assert not is_newer(canceled, _snapshot(base, at=base.updated_at, state=state))


_BASE = order_updated(
    CommerceOrder.model_validate(
        {"entity_id": 1, "increment_id": "1", "customer_email": "a@example.com"}
    ),
    [],
    event_id="ev",
    occurred_at=OCCURRED,
)


_snapshots = st.builds(
    lambda seconds, state, qty: _snapshot(
        _BASE, at=OCCURRED + timedelta(seconds=seconds), state=state, shipped=Decimal(qty)
    ),
    st.integers(0, 3),
    st.sampled_from([*STATE_RANK, "custom_state"]),
    st.integers(0, 3),
)


@given(a=_snapshots, b=_snapshots, c=_snapshots)
def test_is_newer_is_a_strict_order(a: OrderUpdated, b: OrderUpdated, c: OrderUpdated) -> None:
    assert not is_newer(a, a)
    assert not (is_newer(a, b) and is_newer(b, a))
    if is_newer(a, b) and is_newer(b, c):
        assert is_newer(a, c)
