"""Commerce carts (quotes) as the quote-save event carries them: the quote row and its items."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator, model_validator

from schemas.commerce.orders import CommerceCustomOption, gather_custom_options
from schemas.commerce.payload import (
    Amount,
    CommercePayload,
    Flag,
    Id,
    OptionalId,
    OptionalInt,
    Quantity,
    Text,
    Timestamp,
    Total,
    as_list,
)


class CommerceQuoteItem(CommercePayload):
    """One row of a quote's `items[]`; a configurable's chosen child is a row of its own."""

    item_id: OptionalId = None
    parent_item_id: OptionalId = None
    product_id: OptionalId = None
    sku: str = ""
    name: str = ""
    product_type: str = "simple"
    qty: Quantity = Decimal(0)
    price: Amount = Decimal(0)
    price_incl_tax: Amount = Decimal(0)
    row_total: Amount = Decimal(0)
    discount_amount: Amount = Decimal(0)
    custom_options: list[CommerceCustomOption] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _gather_custom_options(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**data, "custom_options": gather_custom_options(data)}


class CommerceQuote(CommercePayload):
    """A quote as `sales_quote_save_commit_after` carries it: the whole cart, as saved.

    Guests' carts have no `customer_email` until the payment step; a cart turned into an order
    is saved once more, inactive, with `reserved_order_id` naming the order."""

    entity_id: Id
    store_id: OptionalInt = None
    is_active: Flag = True
    items: list[CommerceQuoteItem] = Field(default_factory=list)
    customer_id: OptionalId = None
    customer_email: Text = None
    customer_firstname: Text = None
    customer_lastname: Text = None
    customer_is_guest: Flag = False
    reserved_order_id: Text = None
    quote_currency_code: Text = None
    subtotal: Total = Decimal(0)
    subtotal_with_discount: Total | None = None
    grand_total: Total = Decimal(0)
    # Commerce keeps tax and shipping on the quote's addresses; an event may carry them flat.
    tax_amount: Amount | None = None
    shipping_amount: Amount | None = None
    discount_amount: Amount | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None

    @model_validator(mode="before")
    @classmethod
    def _rest_shape(cls, data: Any) -> Any:
        """`GET /V1/carts` rows say `id` for `entity_id` and nest the customer and currency."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("entity_id") is None and data.get("id") is not None:
            data["entity_id"] = data["id"]
        customer = data.get("customer")
        if isinstance(customer, dict):
            data.setdefault("customer_email", customer.get("email"))
            data.setdefault("customer_id", customer.get("id"))
        currency = data.get("currency")
        if isinstance(currency, dict) and not data.get("quote_currency_code"):
            data["quote_currency_code"] = currency.get("quote_currency_code")
        return data

    @field_validator("items", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return as_list(value)

    @field_validator("tax_amount", "shipping_amount", "discount_amount", mode="before")
    @classmethod
    def _absent(cls, value: Any) -> Any:
        return None if value is None or value == "" else value

    @field_validator("subtotal_with_discount", mode="before")
    @classmethod
    def _absent_total(cls, value: Any) -> Any:
        return None if value is None or value == "" else value
