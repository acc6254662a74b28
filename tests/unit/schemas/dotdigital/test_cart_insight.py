"""The `CartInsight` record: the official extension's names, links, lines, phase."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schemas.contract.carts import CartLine, CartUpdated
from schemas.contract.normalized import CustomOption
from schemas.dotdigital.cart_insight import CartPhase, cart_insight

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _cart(**changes: object) -> CartUpdated:
    line = CartLine(
        sku="MH01-XS-Black",
        name="Hoodie",
        qty=Decimal(2),
        price=Decimal("52"),
        row_total=Decimal("104"),
        discount_amount=Decimal("10.4"),
        custom_options=[CustomOption(option_id="3", label="Gift wrap", value="Yes")],
    )
    fields: dict[str, object] = {
        "event_id": "ev",
        "occurred_at": T0,
        "quote_id": "41",
        "email": "ann@example.com",
        "currency": "GBP",
        "items": [line],
        "subtotal": Decimal("104"),
        "tax_amount": Decimal("20.8"),
        "grand_total": Decimal("129.79"),
        "created_at": T0,
        "updated_at": datetime(2026, 11, 26, 9, 5, 30, tzinfo=UTC),
    }
    return CartUpdated.model_validate(fields | changes)


def test_the_record_uses_the_extension_names_keyed_by_quote_for_the_contact() -> None:
    record = cart_insight(_cart(), CartPhase.ORDER_PENDING, "https://shop.example.com/")
    doc = record.json_

    assert record.key == "41"
    assert (
        record.contact_identity is not None and record.contact_identity.value == "ann@example.com"
    )
    assert doc["cartId"] == "41"
    assert doc["cartUrl"] == "https://shop.example.com/checkout/cart/"
    assert (doc["createdDate"], doc["modifiedDate"]) == (
        "2026-11-26T09:00:00Z",
        "2026-11-26T09:05:30Z",
    )
    assert (doc["currency"], doc["subTotal"], doc["taxAmount"], doc["grandTotal"]) == (
        "GBP",
        104.0,
        20.8,
        129.79,
    )
    assert "shipping" not in doc  # the store did not say: nothing is made up
    assert doc["cartPhase"] == "ORDER_PENDING"
    (item,) = doc["lineItems"]
    assert item == {
        "sku": "MH01-XS-Black",
        "name": "Hoodie",
        "imageUrl": "https://shop.example.com/media/catalog/product/MH01-XS-Black.jpg",
        "productUrl": "https://shop.example.com/catalogsearch/result/?q=MH01-XS-Black",
        "unitPrice": 52.0,
        "quantity": 2,
        "salePrice": 46.8,
        "totalPrice": 93.6,
        "options": {"Gift_wrap": "Yes"},
    }


def test_no_array_is_nested_in_an_array() -> None:
    doc = cart_insight(_cart(), CartPhase.ORDER_COMPLETE, "http://s").json_
    for item in doc["lineItems"]:
        assert not any(isinstance(value, list) for value in item.values())
    assert doc["cartPhase"] == "ORDER_COMPLETE"


def test_a_cart_without_an_email_has_no_contact_record() -> None:
    with pytest.raises(ValueError, match="no email"):
        cart_insight(_cart(email=None), CartPhase.ORDER_PENDING, "http://s")
