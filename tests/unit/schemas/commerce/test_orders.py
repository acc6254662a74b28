"""Commerce orders and shipments as their save events (or REST) carry them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from schemas.commerce.events import (
    CloudEvent,
)
from schemas.commerce.orders import CommerceOrder, CommerceOrderItem, CommerceShipment

LoadEvent = Callable[[str], CloudEvent]


def test_guest_order_reads_string_numbers_as_ints_and_decimals(commerce_event: LoadEvent) -> None:
    order = CommerceOrder.model_validate(commerce_event("guest_order").data.value)

    assert order.entity_id == 3
    assert order.increment_id == "000000003"
    assert order.quote_id == 41
    assert order.customer_id is None
    assert order.customer_is_guest is True
    assert order.grand_total == Decimal("229.83")
    assert order.discount_amount == Decimal("-10")
    assert order.total_refunded == Decimal(0)
    assert order.created_at == datetime(2026, 11, 26, 10, 15, 2, tzinfo=UTC)
    hoodie = order.items[0]
    assert (hoodie.item_id, hoodie.product_id, hoodie.qty_ordered) == (10, 67, Decimal(2))
    assert hoodie.price == Decimal("52") and hoodie.is_virtual is False
    assert order.items[1].parent_item_id == 10
    assert order.items[1].price_incl_tax == Decimal(0)
    assert order.items[-1].is_virtual is True


def test_guest_order_finds_addresses_and_payment_title(commerce_event: LoadEvent) -> None:
    order = CommerceOrder.model_validate(commerce_event("guest_order").data.value)

    assert order.billing_address is not None and order.shipping_address is not None
    assert order.billing_address.street == ["1 Billing Lane", "Flat 2"]
    assert order.shipping_address.city == "York"
    assert order.payment is not None
    assert (order.payment.method, order.payment.title) == ("checkmo", "Check / Money order")


def test_rest_order_reads_numbers_zoned_dates_and_shipping_assignment(
    commerce_event: LoadEvent,
) -> None:
    order = CommerceOrder.model_validate(commerce_event("registered_order").data.value)

    assert order.customer_id == 7 and order.customer_is_guest is False
    assert order.grand_total == Decimal("53.71")
    assert order.updated_at == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert order.billing_address is not None and order.billing_address.region_code == "MI"
    assert order.shipping_address is not None
    assert order.shipping_address.street == ["6146 Honey Bluff Parkway", "Unit 2"]
    assert order.shipping_method == "flatrate_flatrate"
    assert order.payment is not None and order.payment.title == "Check / Money order"


@pytest.mark.parametrize(
    ("fields", "customer_id", "is_guest"),
    [
        ({"customer_id": "0"}, None, True),
        ({"customer_id": 0, "customer_is_guest": None}, None, True),
        ({"customer_id": "12"}, 12, False),
        ({"customer_id": "12", "customer_is_guest": "1"}, 12, True),
        ({"customer_id": None, "customer_is_guest": True}, None, True),
        ({"customer_id": 5, "customer_is_guest": "0"}, 5, False),
    ],
)
def test_guest_flag_is_read_or_inferred_from_the_customer_id(
    fields: dict[str, Any], customer_id: int | None, is_guest: bool
) -> None:
    order = CommerceOrder.model_validate({"entity_id": 1, "increment_id": "1", **fields})
    assert (order.customer_id, order.customer_is_guest) == (customer_id, is_guest)


def test_custom_options_merge_labels_with_rest_option_ids(commerce_event: LoadEvent) -> None:
    order = CommerceOrder.model_validate(commerce_event("guest_order").data.value)
    bag = order.items[5]

    options = {option.option_id: option for option in bag.custom_options}
    assert set(options) == {"3", "4", "9"}
    assert (options["4"].label, options["4"].value, options["4"].option_value) == (
        "Bag colour",
        "Navy",
        "17",
    )
    assert options["9"].label is None and options["9"].option_value == "21,22"


def test_top_level_custom_options_list_is_accepted() -> None:
    item = CommerceOrderItem.model_validate(
        {
            "item_id": 1,
            "custom_options": [
                {"option_id": 5, "option_value": "RC", "label": "Initials"},
                {"option_id": "6", "option_value": ["1", "2"], "value": "Gold, Silver"},
            ],
        }
    )
    assert [(o.option_id, o.option_value, o.label, o.value) for o in item.custom_options] == [
        ("5", "RC", "Initials", None),
        ("6", "1,2", None, "Gold, Silver"),
    ]


def test_serialized_product_options_string_is_read() -> None:
    item = CommerceOrderItem.model_validate(
        {
            "item_id": 1,
            "product_options": '{"options":[{"label":"Size","value":"L","option_id":"2",'
            '"option_value":"L"}]}',
        }
    )
    assert item.custom_options[0].label == "Size"


def test_shipment_reads_items_and_tracks(commerce_event: LoadEvent) -> None:
    shipment = CommerceShipment.model_validate(
        commerce_event("guest_order_shipment_remainder").data.value
    )
    assert (shipment.entity_id, shipment.order_id, shipment.increment_id) == (6, 3, "000000006")
    assert [(i.order_item_id, i.qty) for i in shipment.items] == [
        (13, Decimal(1)),
        (14, Decimal(2)),
    ]
    assert shipment.tracks[0].track_number == "1Z999AA10123456784"
    assert shipment.created_at == datetime(2026, 11, 28, 14, 30, tzinfo=UTC)
