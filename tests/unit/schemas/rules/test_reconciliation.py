"""Reconciliation's comparison: a store's orders and credit memos (as its REST API lists them)
against Dotdigital's records, with drift planted the way an operator or a bug would."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sandbox.commerce.model.wire import rest
from sandbox.commerce.simulator.store import Store
from schemas.rules.drift import Reconciliation, Window, compare
from schemas.rules.reconciliation import Entity, Expected, Kind, expected

SKU = "24-MB01"
ALL_ORDER_FIELDS = ("orderTotal", "orderStatus", "orderState", "refundedAmount", "netTotal")


@dataclass
class Shop:
    """A store's REST view and what a faithful pipeline left in Dotdigital for it."""

    orders: list[dict[str, Any]]
    memos: list[dict[str, Any]]
    wanted: Expected
    window: Window
    numbers: list[str]  # order increment ids, in placing order
    memo_numbers: list[str]

    def dotdigital(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Dotdigital as a clean run leaves it: the expected records and data fields."""
        return (
            copy.deepcopy(self.wanted.orders),
            copy.deepcopy(self.wanted.refunds),
            copy.deepcopy(self.wanted.contacts),
        )


def shop() -> Shop:
    """Three buyers: a shipped order, an order refunded in part, an order cancelled; and
    a second order of the first buyer."""
    store = Store(seed=3)
    start = store.clock.now()
    line = store.catalogue.line
    ada = store.register("ada@example.com", "Ada", "L")
    grace = store.guest("grace@example.com", "Grace", "H")
    alan = store.guest("alan@example.com", "Alan", "T")
    first = store.place_order(ada, [line(SKU, 1)])
    store.clock.advance(60)
    refunded = store.place_order(grace, [line(SKU, 2)])
    store.clock.advance(60)
    cancelled = store.place_order(alan, [line(SKU, 1)])
    store.clock.advance(60)
    second = store.place_order(ada, [line("24-UG06", 1)])
    for order in (first, refunded, second):
        store.invoice(order)
        store.clock.advance(60)
    store.ship(first)
    store.cancel(cancelled)
    store.refund(refunded, items={SKU: 1})
    orders = [rest(order.rest()) for order in store.orders.values()]
    memos = [rest(memo.record()) for memo in store.creditmemos.values()]
    window = Window(start - timedelta(minutes=1), store.clock.now() + timedelta(minutes=1))
    return Shop(
        orders=[dict(o) for o in orders],
        memos=[dict(m) for m in memos],
        wanted=expected(orders, memos),
        window=window,
        numbers=[o.increment_id for o in (first, refunded, cancelled, second)],
        memo_numbers=[m.increment_id for m in store.creditmemos.values()],
    )


Plant = Callable[[Shop, dict[str, Any], dict[str, Any], dict[str, Any]], None]


def reconcile(sample: Shop, plant: Plant | None = None) -> Reconciliation:
    orders, refunds, contacts = sample.dotdigital()
    if plant is not None:
        plant(sample, orders, refunds, contacts)
    return compare(sample.wanted, sample.window, orders=orders, refunds=refunds, contacts=contacts)


def found(result: Reconciliation) -> set[tuple[Kind, Entity, str, tuple[str, ...]]]:
    return {
        (f.kind, f.entity, f.key, tuple(d.name for d in f.differences)) for f in result.findings
    }


def test_a_faithful_dotdigital_has_no_findings_and_no_revenue_drift() -> None:
    sample = shop()
    result = reconcile(sample)
    assert result.findings == []
    assert (result.orders, result.refunds, result.contacts) == (4, 1, 3)
    assert all(day.drift == 0 and day.percent == 0.0 for day in result.days)
    assert sum(day.commerce for day in result.days) > 0


def test_expected_records_follow_the_refund_and_the_cancellation() -> None:
    sample = shop()
    refunded = sample.wanted.orders[sample.numbers[1]]
    assert refunded["refundedAmount"] > 0
    assert refunded["netTotal"] == pytest.approx(
        refunded["orderTotal"] - refunded["refundedAmount"]
    )
    assert sample.wanted.orders[sample.numbers[2]]["orderState"] == "canceled"
    assert sample.wanted.contacts["alan@example.com"]["ORDER_COUNT"] == 0
    assert sample.wanted.contacts["ada@example.com"]["ORDER_COUNT"] == 2


def _delete_order(s: Shop, o: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    del o[s.numbers[0]]


def _change_total(s: Shop, o: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    # A wrong total, net of no refund: both figures move.
    o[s.numbers[3]].update(orderTotal=1.0, netTotal=1.0)


def _change_status(s: Shop, o: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    o[s.numbers[1]]["orderStatus"] = "complete"


def _delete_refund(s: Shop, o: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    del r[s.memo_numbers[0]]


def _change_refund(s: Shop, o: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    r[s.memo_numbers[0]]["amount"] = 0.01


def _extra_order(s: Shop, o: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    o["999000001"] = {**o[s.numbers[0]], "id": "999000001"}


def _extra_refund(s: Shop, o: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    r["999000002"] = {**r[s.memo_numbers[0]], "id": "999000002"}


def _lifetime(s: Shop, o: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    c["grace@example.com"] = {**c["grace@example.com"], "LIFETIME_VALUE": 12345.0}


def _count(s: Shop, o: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    c["ada@example.com"] = {**c["ada@example.com"], "ORDER_COUNT": 1}


def _no_contact(s: Shop, o: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    c["alan@example.com"] = None


# Each plant: the findings it must cause, and nothing else.
CASES: list[tuple[str, Plant, Callable[[Shop], set[tuple[Kind, Entity, str, tuple[str, ...]]]]]] = [
    (
        "deleted order record",
        _delete_order,
        lambda s: {(Kind.MISSING, Entity.ORDER, s.numbers[0], ALL_ORDER_FIELDS)},
    ),
    (
        "changed order total",
        _change_total,
        lambda s: {(Kind.MISMATCH, Entity.ORDER, s.numbers[3], ("orderTotal", "netTotal"))},
    ),
    (
        "changed order status",
        _change_status,
        lambda s: {(Kind.MISMATCH, Entity.ORDER, s.numbers[1], ("orderStatus",))},
    ),
    (
        "deleted refund record",
        _delete_refund,
        lambda s: {
            (Kind.MISSING, Entity.REFUND, s.memo_numbers[0], ("orderId", "amount", "state"))
        },
    ),
    (
        "changed refund amount",
        _change_refund,
        lambda s: {(Kind.MISMATCH, Entity.REFUND, s.memo_numbers[0], ("amount",))},
    ),
    (
        "order record Commerce never had",
        _extra_order,
        lambda s: {(Kind.EXTRA, Entity.ORDER, "999000001", ALL_ORDER_FIELDS)},
    ),
    (
        "refund record Commerce never had",
        _extra_refund,
        lambda s: {(Kind.EXTRA, Entity.REFUND, "999000002", ("orderId", "amount", "state"))},
    ),
    (
        "lifetime value changed",
        _lifetime,
        lambda s: {(Kind.MISMATCH, Entity.CONTACT, "grace@example.com", ("LIFETIME_VALUE",))},
    ),
    (
        "order count changed",
        _count,
        lambda s: {(Kind.MISMATCH, Entity.CONTACT, "ada@example.com", ("ORDER_COUNT",))},
    ),
    (
        "contact gone",
        _no_contact,
        lambda s: {
            (Kind.MISSING, Entity.CONTACT, "alan@example.com", ("ORDER_COUNT", "LIFETIME_VALUE"))
        },
    ),
]


@pytest.mark.parametrize(("plant", "wanted"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_planted_drift_is_found_exactly(
    plant: Plant, wanted: Callable[[Shop], set[tuple[Kind, Entity, str, tuple[str, ...]]]]
) -> None:
    sample = shop()
    assert found(reconcile(sample, plant)) == wanted(sample)


def test_a_changed_total_shows_as_revenue_drift_on_its_day_and_store() -> None:
    sample = shop()
    result = reconcile(sample, _change_total)
    (day,) = [d for d in result.days if d.drift]
    was = Decimal(str(sample.wanted.orders[sample.numbers[3]]["netTotal"]))
    assert day.drift == Decimal("1.0") - was
    assert day.findings == 1
    assert day.store == sample.wanted.orders[sample.numbers[3]]["storeName"]
    assert day.percent == pytest.approx(float(day.drift / day.commerce * 100))


def test_a_deleted_refund_is_no_revenue_drift_since_the_order_record_is_net() -> None:
    result = reconcile(shop(), _delete_refund)
    assert [f.kind for f in result.findings] == [Kind.MISSING]
    assert all(day.drift == 0 for day in result.days)


def test_unsettled_orders_are_left_out_on_both_sides() -> None:
    sample = shop()
    orders, refunds, contacts = sample.dotdigital()
    del orders[sample.numbers[1]]  # still on its way, say
    result = compare(
        sample.wanted,
        sample.window,
        orders=orders,
        refunds=refunds,
        contacts=contacts,
        unsettled={sample.numbers[1]},
    )
    assert result.findings == []
    assert (result.orders, result.refunds, result.contacts, result.unsettled) == (3, 0, 2, 1)


def test_orders_outside_the_window_are_not_compared() -> None:
    sample = shop()
    orders, refunds, contacts = sample.dotdigital()
    del orders[sample.numbers[0]]
    later = Window(sample.window.until, sample.window.until + timedelta(days=1))
    result = compare(sample.wanted, later, orders=orders, refunds=refunds, contacts=contacts)
    assert (result.findings, result.orders, result.days) == ([], 0, [])


def test_an_order_the_pipeline_cannot_read_is_named_not_compared() -> None:
    sample = shop()
    broken = [{**sample.orders[0], "customer_email": "not an email"}, *sample.orders[1:]]
    wanted = expected(broken, sample.memos)
    assert wanted.unreadable == [f"order {sample.orders[0]['increment_id']}"]
    assert sample.numbers[0] not in wanted.orders


def test_renamed_data_fields_are_compared_under_the_accounts_names() -> None:
    sample = shop()
    names = {"LIFETIME_VALUE": "LTV"}
    wanted = expected(sample.orders, sample.memos, names=names)
    assert set(wanted.contacts["ada@example.com"]) == {"ORDER_COUNT", "LTV"}
    contacts = {e: {**f, "LTV": 0.5} for e, f in wanted.contacts.items()}
    result = compare(
        wanted, sample.window, orders=wanted.orders, refunds=wanted.refunds, contacts=contacts
    )
    assert {(f.key, f.differences[0].name) for f in result.findings} == {
        (e, "LTV") for e in ("ada@example.com", "grace@example.com", "alan@example.com")
    }


def test_the_window_is_half_open() -> None:
    moment = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    window = Window(moment, moment + timedelta(hours=1))
    assert window.holds({"purchaseDate": "2026-11-26 10:00:00"}, "purchaseDate")
    assert not window.holds({"purchaseDate": "2026-11-26 11:00:00"}, "purchaseDate")
    assert not window.holds({"purchaseDate": "garbage"}, "purchaseDate")
