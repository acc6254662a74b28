"""Product attributes for Orders lines, read from the store simulator's REST API and cached."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.orders import Order
from schemas.commerce.orders import CommerceOrder
from schemas.dotdigital.orders import orders_record
from schemas.normalize.orders import order_updated
from streams.process.product_attributes import ProductAttributes
from tests.support.commerce import Commerce


async def test_configured_attributes_are_copied_onto_order_lines_as_labels(
    commerce: Commerce,
) -> None:
    products = ProductAttributes(commerce.client, ["color", "material", "not_an_attribute"])
    order = Order(
        entity_id=77,
        increment_id="000000077",
        email="bag@example.com",
        firstname="B",
        lastname="Ag",
        lines=[Line("24-MB01", "Joust Duffle Bag", 1, 1, Decimal("34.00"))],
        created_at=datetime(2026, 11, 26, 9, tzinfo=UTC),
    )
    snapshot = order.snapshot(state="new", status="pending", at=order.created_at)
    updated = order_updated(
        CommerceOrder.model_validate(snapshot), [], event_id="e", occurred_at=order.created_at
    )

    labels = await products.for_skus(["24-MB01", "24-MB01", "NO-SUCH-SKU"])
    again = await products.for_skus(["24-MB01"])
    (line,) = orders_record(updated, labels).json_["products"]

    assert labels == {"24-MB01": {"color": "Black", "material": "Polyester"}}
    assert again == labels
    assert line["product_attributes"] == {"color": "Black", "material": "Polyester"}
    product_reads = commerce.network.to("GET", "/rest/default/V1/products/24-MB01")
    assert len(product_reads) == 1


async def test_a_product_without_a_configured_attribute_is_a_gap_reported_once(
    commerce: Commerce,
) -> None:
    products = ProductAttributes(commerce.client, ["color", "material"])

    await products.for_skus(["24-WG02", "24-MB01", "NO-SUCH-SKU"])
    first = products.take_gaps()
    await products.for_skus(["24-WG02"])

    # The watch has a colour and no material; an unknown product is no gap of an attribute.
    assert first == [("24-WG02", "material")]
    assert products.take_gaps() == []
