"""Browser events waiting for their cart's email: bounded, released, expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.commerce.storefront import SdkEvent
from schemas.contract.storefront import StorefrontReceived
from schemas.rules.storefront_waits import CartWait, WaitBounds, expire, on_email, on_event

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
BOUNDS = WaitBounds(max_events=3, max_age=timedelta(hours=1))


def raw(n: int, at: datetime = T0) -> StorefrontReceived:
    event = SdkEvent.model_validate(
        {"event": "page-view", "eventInfo": {}, "timestamp": at.isoformat()}
    )
    return StorefrontReceived(event_id=f"e{n}", received_at=at, event=event)


def test_events_wait_until_the_cart_has_an_email_then_go_to_it() -> None:
    state = on_event(None, raw(1), T0, BOUNDS).state
    state = on_event(state, raw(2), T0, BOUNDS).state

    released = on_email(state, "ann@example.com", T0, BOUNDS)

    assert [r.event_id for r in released.released] == ["e1", "e2"]
    assert released.state == CartWait(email="ann@example.com")
    assert on_event(released.state, raw(3), T0, BOUNDS).released == [raw(3)]


def test_a_cart_keeps_only_its_newest_events() -> None:
    state = None
    expired = 0
    for n in range(5):
        outcome = on_event(state, raw(n), T0, BOUNDS)
        state, expired = outcome.state, expired + outcome.expired

    assert state is not None
    assert [r.event_id for r in state.waiting] == ["e2", "e3", "e4"]
    assert expired == 2


def test_old_events_expire_silently() -> None:
    state = on_event(None, raw(1), T0, BOUNDS).state

    outcome = expire(state, T0 + timedelta(hours=2), BOUNDS)
    late = on_email(state, "ann@example.com", T0 + timedelta(hours=2), BOUNDS)

    assert (outcome.state.waiting, outcome.expired) == ([], 1)
    assert (late.released, late.expired) == ([], 1)


def test_a_resent_beacon_waits_once() -> None:
    state = on_event(None, raw(1), T0, BOUNDS).state

    assert on_event(state, raw(1), T0, BOUNDS).state.waiting == [raw(1)]
