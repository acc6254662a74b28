"""A Commerce order and its shipments, normalized: lines, totals, fulfilment."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from schemas.commerce.orders import CommerceOrder, CommerceShipment
from schemas.contract.normalized import OrderUpdated
from schemas.email import InvalidEmail
from schemas.normalize.orders import order_updated

OCCURRED = datetime(2026, 11, 26, 10, 15, 4, tzinfo=UTC)


def _normalize(order: CommerceOrder, shipments: Iterable[CommerceShipment] = ()) -> OrderUpdated:
    return order_updated(order, shipments, event_id="ev-1", occurred_at=OCCURRED)


def _with(order: CommerceOrder, **changes: Any) -> CommerceOrder:
    return CommerceOrder.model_validate({**order.model_dump(), **changes})


def test_guest_order_is_keyed_by_its_normalized_email(guest_order: CommerceOrder) -> None:
    updated = _normalize(guest_order)

    assert updated.email == "gemma.guest@example.com"
    assert (updated.is_guest, updated.customer_id) == (True, None)
    assert (updated.schema_version, updated.event_id, updated.occurred_at) == (1, "ev-1", OCCURRED)
    assert (updated.firstname, updated.lastname) == ("Gemma", "Guest")


def test_order_without_a_usable_email_is_refused(guest_order: CommerceOrder) -> None:
    with pytest.raises(InvalidEmail) as caught:
        _normalize(_with(guest_order, customer_email=None))
    assert caught.value.reason == "missing"


def test_order_totals_currency_and_store_view_are_carried(guest_order: CommerceOrder) -> None:
    updated = _normalize(guest_order)

    assert updated.currency == "GBP"
    assert updated.store_name == "Default Store View"
    assert (updated.subtotal, updated.grand_total, updated.total_refunded) == (
        Decimal("208"),
        Decimal("229.83"),
        Decimal(0),
    )
    assert (updated.payment_method, updated.payment_title) == ("checkmo", "Check / Money order")
    assert updated.placed_at == datetime(2026, 11, 26, 10, 15, 2, tzinfo=UTC)
    assert updated.delivery_address is not None and updated.delivery_address.country == "GB"


def test_configurable_parent_and_child_fold_into_one_line(guest_order: CommerceOrder) -> None:
    lines = _normalize(guest_order).lines

    assert [line.item_id for line in lines] == [10, 12, 15, 16]
    hoodie = lines[0]
    assert (hoodie.sku, hoodie.name) == ("MH01-M-Red", "Chaz Kangeroo Hoodie")
    assert (hoodie.product_id, hoodie.parent_product_id) == (58, 67)
    assert (hoodie.qty, hoodie.price, hoodie.product_type) == (
        Decimal(2),
        Decimal(52),
        "configurable",
    )
    assert hoodie.children == []


def test_bundle_children_nest_under_the_bundle_line(guest_order: CommerceOrder) -> None:
    kit = _normalize(guest_order).lines[1]

    assert (kit.product_type, kit.product_id, kit.parent_product_id) == ("bundle", 46, None)
    assert [(c.item_id, c.sku, c.qty, c.parent_product_id) for c in kit.children] == [
        (13, "24-WG084", Decimal(1), 46),
        (14, "24-WG086", Decimal(2), 46),
    ]


def test_custom_options_stay_on_their_top_level_line(guest_order: CommerceOrder) -> None:
    lines = _normalize(guest_order).lines
    bag = lines[2]

    assert [(o.option_id, o.label, o.value, o.option_value) for o in bag.custom_options] == [
        ("3", "Gift Message!", "Happy birthday, Sam", "Happy birthday, Sam"),
        ("4", "Bag colour", "Navy", "17"),
        ("9", None, "21,22", "21,22"),
    ]
    assert all(not line.custom_options for line in lines if line.item_id != 15)


def test_unshipped_order_is_not_fulfilled(guest_order: CommerceOrder) -> None:
    updated = _normalize(guest_order)
    assert (updated.fulfilled, updated.shipped) == (False, {})


def test_partial_shipment_counts_but_does_not_fulfil(
    guest_order: CommerceOrder, shipment: Callable[[str], CommerceShipment]
) -> None:
    updated = _normalize(guest_order, [shipment("partial")])

    assert updated.shipped == {10: 2, 15: 1}
    assert updated.fulfilled is False


def test_shipping_the_remainder_fulfils_while_virtual_lines_never_ship(
    guest_order: CommerceOrder, shipment: Callable[[str], CommerceShipment]
) -> None:
    updated = _normalize(guest_order, [shipment("partial"), shipment("remainder")])

    assert updated.shipped == {10: 2, 13: 1, 14: 2, 15: 1}
    assert 16 not in updated.shipped  # the gift wrap is virtual
    assert updated.fulfilled is True


def test_shipment_of_a_configurable_child_counts_for_its_parent_line(
    guest_order: CommerceOrder, shipment: Callable[[str], CommerceShipment]
) -> None:
    updated = _normalize(guest_order, [shipment("all")])

    assert updated.lines[0].qty_shipped == 2
    assert updated.shipped == {10: 2, 12: 1, 15: 1}
    assert updated.fulfilled is True


def test_shipment_order_and_duplicates_do_not_change_the_result(
    guest_order: CommerceOrder, shipment: Callable[[str], CommerceShipment]
) -> None:
    partial, remainder = shipment("partial"), shipment("remainder")
    expected = _normalize(guest_order, [partial, remainder])
    resaved_with_tracking = partial.model_copy(
        update={"updated_at": datetime(2026, 11, 27, 12, 0, tzinfo=UTC)}
    )

    for shipments in itertools.permutations([partial, remainder, partial, resaved_with_tracking]):
        updated = _normalize(guest_order, shipments)
        assert (updated.shipped, updated.fulfilled) == (expected.shipped, expected.fulfilled)


def test_shipment_seen_before_the_order_event_gives_the_same_result(
    guest_order: CommerceOrder, shipment: Callable[[str], CommerceShipment]
) -> None:
    # Commerce re-saves the order after shipping with its own qty_shipped counters; a worker that
    # saw the shipment first folds it into the older snapshot. Both must agree.
    from_shipments = _normalize(guest_order, [shipment("partial")])
    items = [dict(item) for item in guest_order.model_dump()["items"]]
    for item in items:
        if item["item_id"] in (10, 11):
            item["qty_shipped"] = "2.0000"
        if item["item_id"] == 15:
            item["qty_shipped"] = "1.0000"
    from_counters = _normalize(_with(guest_order, items=items))
    both = _normalize(_with(guest_order, items=items), [shipment("partial")])

    assert from_shipments.shipped == from_counters.shipped == both.shipped == {10: 2, 15: 1}


def test_shipments_of_other_orders_are_ignored(
    guest_order: CommerceOrder, shipment: Callable[[str], CommerceShipment]
) -> None:
    stray = shipment("all").model_copy(update={"order_id": 99})
    assert _normalize(guest_order, [stray]).shipped == {}


def test_complete_state_confirms_fulfilment_and_cancel_never_does(
    guest_order: CommerceOrder, shipment: Callable[[str], CommerceShipment]
) -> None:
    assert _normalize(_with(guest_order, state="complete")).fulfilled is True
    canceled = _with(guest_order, state="canceled")
    assert _normalize(canceled, [shipment("all")]).fulfilled is False


def test_virtual_only_order_waits_for_complete(guest_order: CommerceOrder) -> None:
    virtual_only = _with(guest_order, items=[guest_order.items[-1].model_dump()])
    assert _normalize(virtual_only).fulfilled is False
    assert _normalize(_with(virtual_only, state="complete")).fulfilled is True


def test_normalized_order_round_trips_through_json(
    guest_order: CommerceOrder, shipment: Callable[[str], CommerceShipment]
) -> None:
    updated = _normalize(guest_order, [shipment("partial")])
    wire = orjson.dumps(updated.model_dump(mode="json", by_alias=True))
    assert OrderUpdated.model_validate_json(wire) == updated
