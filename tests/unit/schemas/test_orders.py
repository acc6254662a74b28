from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.commerce import CloudEvent, CommerceOrder, CommerceShipment
from schemas.email import InvalidEmail
from schemas.normalized import OrderUpdated
from schemas.orders import STATE_RANK, contact_upsert, is_newer, order_updated, orders_record

LoadEvent = Callable[[str], CloudEvent]
OCCURRED = datetime(2026, 11, 26, 10, 15, 4, tzinfo=UTC)
JSON_KEY = re.compile(r"[A-Za-z0-9_-]+")


@pytest.fixture
def guest_order(commerce_event: LoadEvent) -> CommerceOrder:
    return CommerceOrder.model_validate(commerce_event("guest_order").data.value)


@pytest.fixture
def shipment(commerce_event: LoadEvent) -> Callable[[str], CommerceShipment]:
    def load(name: str) -> CommerceShipment:
        return CommerceShipment.model_validate(
            commerce_event(f"guest_order_shipment_{name}").data.value
        )

    return load


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


# --- is_newer ---------------------------------------------------------------------------------


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


# --- Dotdigital bodies ------------------------------------------------------------------------


def _walk(value: Any) -> Iterable[tuple[str | None, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from _walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield None, inner
            yield from _walk(inner)


def test_orders_record_uses_the_official_extension_names(
    guest_order: CommerceOrder, shipment: Callable[[str], CommerceShipment]
) -> None:
    record = orders_record(_normalize(guest_order, [shipment("partial")])).wire()
    doc = record["json"]

    assert record["key"] == "000000003"
    assert record["contactIdentity"] == {"identifier": "email", "value": "gemma.guest@example.com"}
    assert doc["id"] == "000000003" and doc["email"] == "gemma.guest@example.com"
    assert (doc["quoteId"], doc["storeName"]) == (41, "Default Store View")
    assert doc["purchaseDate"] == "2026-11-26 10:15:02"
    assert (doc["orderSubtotal"], doc["discountAmount"], doc["orderTotal"]) == (208, -10, 229.83)
    assert (doc["deliveryTotal"], doc["currency"], doc["couponCode"]) == (15.0, "GBP", "WELCOME10")
    assert (doc["payment"], doc["deliveryMethod"]) == ("Check / Money order", "Flat Rate - Fixed")
    assert (doc["orderStatus"], doc["orderState"], doc["fulfilled"]) == (
        "processing",
        "processing",
        False,
    )
    assert (doc["refundedAmount"], doc["netTotal"]) == (0, 229.83)
    assert doc["deliveryAddress"] == {
        "delivery_address_1": "99 Delivery Road",
        "delivery_address_2": "",
        "delivery_city": "York",
        "delivery_region": "North Yorkshire",
        "delivery_country": "GB",
        "delivery_postcode": "YO1 7HH",
    }
    assert doc["billingAddress"]["billing_address_2"] == "Flat 2"


def test_orders_record_lists_line_items_with_folded_and_nested_products(
    guest_order: CommerceOrder,
) -> None:
    products = orders_record(_normalize(guest_order)).json_["products"]

    assert [p["sku"] for p in products] == [
        "MH01-M-Red",
        "24-WG080-24-WG084-24-WG086",
        "24-MB01",
        "gift-wrap",
    ]
    hoodie = products[0]
    assert (hoodie["product_id"], hoodie["parent_id"], hoodie["name"]) == (
        58,
        67,
        "Chaz Kangeroo Hoodie",
    )
    assert (hoodie["qty"], hoodie["price"], hoodie["price_inc_tax"]) == (2, 52.0, 56.29)
    assert [child["sku"] for child in products[1]["sub_items"]] == ["24-WG084", "24-WG086"]


def test_orders_record_carries_custom_options_under_safe_keys(guest_order: CommerceOrder) -> None:
    bag = orders_record(_normalize(guest_order)).json_["products"][2]

    assert bag["custom-options"] == [
        {"Gift_Message_": "Happy birthday, Sam"},
        {"Bag_colour": "Navy"},
        {"option_9": "21,22"},
    ]
    assert bag["custom_options_detail"][1] == {
        "option_id": "4",
        "label": "Bag colour",
        "value": "Navy",
        "option_value": "17",
    }


def test_orders_record_json_is_acceptable_to_dotdigital(
    guest_order: CommerceOrder, shipment: Callable[[str], CommerceShipment]
) -> None:
    doc = orders_record(_normalize(guest_order, [shipment("remainder")])).wire()["json"]
    orjson.dumps(doc)  # plain JSON types only

    for key, value in _walk(doc):
        assert key is None or JSON_KEY.fullmatch(key), key
        if isinstance(value, list):
            assert not any(isinstance(inner, list) for inner in value), "nested array"
        assert value is not None


def test_refund_lowers_net_total_of_a_registered_order(commerce_event: LoadEvent) -> None:
    order = CommerceOrder.model_validate(commerce_event("registered_order").data.value)
    updated = _normalize(order)
    doc = orders_record(updated).json_

    assert (updated.email, updated.customer_id, updated.is_guest) == (
        "roni_cost@example.com",
        7,
        False,
    )
    assert updated.fulfilled is True
    assert (doc["orderTotal"], doc["refundedAmount"], doc["netTotal"]) == (53.71, 10.5, 43.21)
    assert doc["deliveryMethod"] == "Flat Rate - Fixed"
    assert doc["deliveryAddress"]["delivery_address_2"] == "Unit 2"
    assert doc["products"][0]["custom-options"] == [{"Initials": "RC"}]
    assert doc["products"][0]["qty_shipped"] == 1


def test_contact_upsert_uses_upper_snake_data_fields_and_omits_unknowns() -> None:
    upsert = contact_upsert(
        " Gemma.Guest@Example.com",
        firstname="Gemma",
        lastname=" ",
        is_guest=True,
        order_count=2,
        lifetime_value=Decimal("459.655"),
        first_order_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        last_order_at=datetime(2026, 11, 26, 10, 15, 2, tzinfo=UTC),
        last_order_id="000000003",
    )
    body = upsert.wire()

    assert body["identifiers"] == {"email": "gemma.guest@example.com"}
    assert body["dataFields"] == {
        "FIRSTNAME": "Gemma",
        "CUSTOMER_TYPE": "guest",
        "ORDER_COUNT": 2,
        "LIFETIME_VALUE": 459.66,
        "FIRST_ORDER_DATE": "2026-01-02T03:04:05Z",
        "LAST_ORDER_DATE": "2026-11-26T10:15:02Z",
        "LAST_ORDER_ID": "000000003",
    }
    orjson.dumps(body)


def test_contact_upsert_marks_registered_customers() -> None:
    fields = contact_upsert("roni_cost@example.com", customer_id=7, is_guest=False).data_fields
    assert fields == {"CUSTOMER_ID": 7, "CUSTOMER_TYPE": "registered"}


def test_contact_upsert_refuses_an_invalid_email() -> None:
    with pytest.raises(InvalidEmail):
        contact_upsert("not an email")
