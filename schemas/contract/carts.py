"""The normalized cart on `commerce.carts.v1`: a quote's whole state at one save."""

from __future__ import annotations

from decimal import Decimal

from pydantic import AwareDatetime, Field

from schemas.contract.normalized import ContractModel, CustomOption, NormalizedEvent

# The key of a cart whose shopper has given no email yet (a guest before the payment step).
GUEST_KEY_PREFIX = "quote:"


class CartLine(ContractModel):
    """One cart line: a configurable is folded into its chosen child (sku, product id)."""

    item_id: int | None = None
    sku: str
    name: str
    product_id: int | None = None
    parent_product_id: int | None = None
    product_type: str = "simple"
    qty: Decimal
    price: Decimal = Decimal(0)
    price_incl_tax: Decimal = Decimal(0)
    row_total: Decimal = Decimal(0)
    discount_amount: Decimal = Decimal(0)
    custom_options: list[CustomOption] = Field(default_factory=list)


class CartUpdated(NormalizedEvent):
    """A cart (Commerce quote) as saved. Key: the normalized email, or `quote:<id>` while the
    cart has none (a guest before the payment step); the cart moves to the email's key then.

    Totals are what the store sent: Commerce keeps tax and shipping on the quote's addresses,
    so they are null when the event did not carry them."""

    quote_id: str
    email: str | None = None
    customer_id: int | None = None
    is_guest: bool = True
    firstname: str | None = None
    lastname: str | None = None
    is_active: bool = True
    reserved_order_id: str | None = Field(
        default=None, description="the order this cart became (set when it was checked out)"
    )
    store_id: int | None = None
    currency: str | None = None
    items: list[CartLine] = Field(default_factory=list)
    subtotal: Decimal = Decimal(0)
    tax_amount: Decimal | None = None
    shipping_amount: Decimal | None = None
    discount_amount: Decimal | None = None
    grand_total: Decimal = Decimal(0)
    created_at: AwareDatetime
    updated_at: AwareDatetime = Field(description="Commerce's `updated_at`: the event time")

    @property
    def key(self) -> str:
        """The topic key: the email once known, else `quote:<id>`."""
        return self.email or f"{GUEST_KEY_PREFIX}{self.quote_id}"
