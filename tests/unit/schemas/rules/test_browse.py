"""Browse intent rules: threshold views in event time, purchases cancel, categories add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from schemas.contract.normalized import NormalizedLine, OrderUpdated
from schemas.contract.storefront import StorefrontEvent
from schemas.dotdigital.categories import category_record
from schemas.rules.browse import (
    BrowseOutcome,
    BrowseRules,
    BrowseState,
    fold_order,
    fold_view,
    slug,
)

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
RULES = BrowseRules(views=3, within=timedelta(days=7))
EMAIL = "ann@example.com"


def view(
    at: datetime,
    *,
    sku: str | None = "MJ01-S-Red",
    top: str | None = "MJ01",
    n: int = 0,
    **over: Any,
) -> StorefrontEvent:
    fields: dict[str, Any] = {
        "event_id": f"{sku}-{at.isoformat()}-{n}",
        "event": "product-page-view",
        "email": EMAIL,
        "occurred_at": at,
        "received_at": at,
        "identity": "cart",
        "sku": sku,
        "top_level_sku": top,
        "product_id": "1401",
        "categories": ["Men/Jackets"],
    }
    fields.update(over)
    return StorefrontEvent(**fields)


def run(events: list[StorefrontEvent], state: BrowseState | None = None) -> list[BrowseOutcome]:
    outcomes = []
    for event in events:
        outcome = fold_view(state, event, RULES)
        state = outcome.state
        outcomes.append(outcome)
    return outcomes


def order(at: datetime, sku: str = "MJ01-S-Red", state: str = "new") -> OrderUpdated:
    line = NormalizedLine(
        item_id=1, sku=sku, name="Kit", product_type="configurable", qty=Decimal(1), product_id=1401
    )
    return OrderUpdated(
        event_id="o1",
        occurred_at=at,
        email=EMAIL,
        entity_id=1,
        increment_id="000000001",
        state=state,
        is_guest=True,
        placed_at=at,
        updated_at=at,
        lines=[line],
    )


def test_the_third_view_within_the_window_fires_once_on_itself() -> None:
    outcomes = run([view(T0), view(T0 + timedelta(days=1)), view(T0 + timedelta(days=2))])

    assert [o.enrol for o in outcomes[:2]] == [None, None]
    assert outcomes[2].enrol == f"browse MJ01 {T0.isoformat()}"
    assert outcomes[2].sku == "MJ01"


def test_more_views_in_the_same_window_do_not_enrol_again() -> None:
    days = [view(T0 + timedelta(days=d)) for d in range(6)]

    assert [o.enrol is not None for o in run(days)] == [False, False, True, False, False, False]


def test_a_new_window_after_the_last_enrolment_may_enrol_again() -> None:
    first = [view(T0 + timedelta(hours=h)) for h in range(3)]
    later = [view(T0 + timedelta(days=8, hours=h)) for h in range(3)]

    fired = [o.enrol for o in run(first + later) if o.enrol]

    assert len(fired) == 2 and fired[0] != fired[1]


def test_views_spread_wider_than_the_window_never_fire() -> None:
    spread = [view(T0 + timedelta(days=d)) for d in (0, 8, 16, 24)]

    assert all(o.enrol is None for o in run(spread))


def test_children_of_one_configurable_count_together() -> None:
    events = [
        view(T0, sku="MJ01-S-Red"),
        view(T0 + timedelta(hours=1), sku="MJ01-M-Blue"),
        view(T0 + timedelta(hours=2), sku="MJ01-L-Red"),
    ]

    assert run(events)[-1].enrol is not None


def test_a_resent_beacon_counts_once() -> None:
    same = view(T0)

    assert all(o.enrol is None for o in run([same, same, same, view(T0, n=1)]))


def test_a_purchase_first_cancels_the_trigger() -> None:
    bought = fold_order(None, order(T0 - timedelta(hours=1)))

    outcomes = run([view(T0 + timedelta(hours=h)) for h in range(4)], bought)

    assert all(o.enrol is None for o in outcomes)


def test_an_order_placed_between_views_but_arriving_later_still_cancels() -> None:
    state = run([view(T0), view(T0 + timedelta(hours=1))])[-1].state
    state = fold_order(state, order(T0 + timedelta(minutes=30)))

    assert run([view(T0 + timedelta(hours=2))], state)[0].enrol is None


def test_a_cancelled_order_bought_nothing() -> None:
    state = fold_order(None, order(T0 - timedelta(hours=1), state="canceled"))

    assert run([view(T0 + timedelta(hours=h)) for h in range(3)], state)[-1].enrol is not None


def test_a_purchase_long_before_the_window_does_not_cancel() -> None:
    state = fold_order(None, order(T0 - timedelta(days=30)))

    assert run([view(T0 + timedelta(hours=h)) for h in range(3)], state)[-1].enrol is not None


def test_out_of_order_views_fire_once_with_the_same_window_start() -> None:
    late_first = [view(T0 + timedelta(hours=2)), view(T0 + timedelta(hours=1)), view(T0)]

    fired = [o.enrol for o in run(late_first) if o.enrol]

    assert fired == [f"browse MJ01 {T0.isoformat()}"]


def test_category_views_add_up_with_last_seen() -> None:
    category = view(T0, event="category-results-view", sku=None, top=None, categories=["gear/bags"])
    again = view(
        T0 + timedelta(hours=1),
        n=1,
        event="category-results-view",
        sku=None,
        top=None,
        categories=["gear/bags"],
    )

    outcomes = run([category, again])

    (seen,) = outcomes[-1].categories
    assert (seen.views, seen.last_seen) == (2, T0 + timedelta(hours=1))
    record = category_record(EMAIL, seen)
    assert record.key == "gear-bags"
    assert record.json_ == {"category": "gear/bags", "views": 2, "lastSeen": "2026-11-20 11:00:00"}
    assert outcomes[-1].enrol is None


def test_slugs_are_keys() -> None:
    assert slug("Men/Tops & Jackets") == "men-tops-jackets"
    assert slug("///") == "category"


def test_the_contact_is_upserted_before_its_first_category_record_only() -> None:
    """Category records are contact-scope: a guest's first one needs its contact first."""
    no_category = view(T0, categories=[])
    first = view(T0 + timedelta(minutes=1), n=1)
    second = view(T0 + timedelta(minutes=2), n=2, categories=["Gear/Bags"])

    outcomes = run([no_category, first, second])

    assert [o.contact for o in outcomes] == [False, True, False]
    assert [len(o.categories) for o in outcomes] == [0, 1, 1]
    assert outcomes[-1].state.contact_written
