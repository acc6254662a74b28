"""Normalized `CartUpdated` → the contact-scoped `CartInsight` record abandoned-cart programs read."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from schemas.contract.carts import CartLine, CartUpdated
from schemas.dotdigital.amounts import money, quantity
from schemas.dotdigital.bodies import ContactIdentity, InsightRecord, compact
from schemas.dotdigital.orders import json_key

CART_INSIGHT_COLLECTION = "CartInsight"
CART_INSIGHT_TYPE = "cartInsight"


class CartPhase(StrEnum):
    """Where the cart stands for the program: its exit rule waits for `ORDER_COMPLETE`."""

    ORDER_PENDING = "ORDER_PENDING"
    ORDER_COMPLETE = "ORDER_COMPLETE"


def cart_url(store_url: str) -> str:
    """Where the shopper finds their cart again (the store's own cart page)."""
    return f"{store_url.rstrip('/')}/checkout/cart/"


def product_url(store_url: str, sku: str) -> str:
    """A best-effort product link: the store resolves a sku search to the product."""
    return f"{store_url.rstrip('/')}/catalogsearch/result/?q={quote(sku, safe='')}"


def image_url(store_url: str, sku: str) -> str:
    """A best-effort image link under the store's media path, named by sku."""
    return f"{store_url.rstrip('/')}/media/catalog/product/{quote(sku, safe='')}.jpg"


def _line(line: CartLine, store_url: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "sku": line.sku,
        "name": line.name,
        "imageUrl": image_url(store_url, line.sku),
        "productUrl": product_url(store_url, line.sku),
        "unitPrice": money(line.price),
        "quantity": quantity(line.qty),
        # The price paid per unit after the line's discount.
        "salePrice": money((line.row_total - line.discount_amount) / line.qty)
        if line.qty
        else money(line.price),
        "totalPrice": money(line.row_total - line.discount_amount),
    }
    if line.custom_options:
        # An object, not a list: Dotdigital refuses arrays nested in arrays.
        item["options"] = {
            json_key(option.label, option.option_id): option.value for option in line.custom_options
        }
    return item


def cart_insight(cart: CartUpdated, phase: CartPhase, store_url: str) -> InsightRecord:
    """The `CartInsight` record in the official Commerce extension's names (key: quote id)."""
    if cart.email is None:
        raise ValueError(f"cart {cart.quote_id} has no email: a contact record needs one")
    document = compact(
        {
            "cartId": cart.quote_id,
            "cartUrl": cart_url(store_url),
            "createdDate": _iso(cart.created_at),
            "modifiedDate": _iso(cart.updated_at),
            "currency": cart.currency,
            "subTotal": money(cart.subtotal),
            "taxAmount": money(cart.tax_amount) if cart.tax_amount is not None else None,
            "shipping": money(cart.shipping_amount) if cart.shipping_amount is not None else None,
            "discountAmount": money(cart.discount_amount)
            if cart.discount_amount is not None
            else None,
            "grandTotal": money(cart.grand_total),
            "lineItems": [_line(line, store_url) for line in cart.items],
            "cartPhase": phase.value,
        }
    )
    return InsightRecord(
        key=cart.quote_id, contact_identity=ContactIdentity(value=cart.email), json_=document
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
