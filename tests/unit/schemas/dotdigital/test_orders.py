"""The `Orders` insight record: the official extension names, products, safe JSON keys."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.commerce.events import CloudEvent
from schemas.commerce.orders import CommerceOrder, CommerceShipment
from schemas.contract.normalized import OrderUpdated
from schemas.dotdigital.orders import orders_record
from schemas.normalize.orders import order_updated

LoadEvent = Callable[[str], CloudEvent]


OCCURRED = datetime(2026, 11, 26, 10, 15, 4, tzinfo=UTC)


JSON_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _normalize(order: CommerceOrder, shipments: Iterable[CommerceShipment] = ()) -> OrderUpdated:
    return order_updated(order, shipments, event_id="ev-1", occurred_at=OCCURRED)


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
