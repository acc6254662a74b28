"""The normalized, versioned public contract on `commerce.orders.v1` and `commerce.customers.v1`."""

from __future__ import annotations

from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class ContractModel(BaseModel):
    """Base for contract bodies: immutable, and tolerant of fields a newer minor version adds."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class NormalizedEvent(ContractModel):
    """Fields every normalized event carries."""

    schema_version: int = SCHEMA_VERSION
    event_id: str  # the originating Adobe I/O `eventid`
    occurred_at: AwareDatetime  # when Commerce emitted the originating event


class Address(ContractModel):
    """A postal address, street as one entry per line."""

    firstname: str | None = None
    lastname: str | None = None
    company: str | None = None
    street: list[str] = Field(default_factory=list)
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2, as Commerce's `country_id`
    telephone: str | None = None


class CustomOption(ContractModel):
    """A custom option chosen on a line: `value` as the shopper saw it, `option_value` as stored."""

    option_id: str
    value: str
    label: str | None = None
    option_value: str = ""


class NormalizedLine(ContractModel):
    """One order line: a configurable is folded into its chosen child, a bundle nests children."""

    item_id: int
    product_id: int | None = None
    parent_product_id: int | None = None
    sku: str
    name: str
    product_type: str
    qty: Decimal
    qty_shipped: Decimal = Decimal(0)
    qty_refunded: Decimal = Decimal(0)
    qty_canceled: Decimal = Decimal(0)
    price: Decimal = Decimal(0)
    price_incl_tax: Decimal = Decimal(0)
    row_total: Decimal = Decimal(0)
    discount_amount: Decimal = Decimal(0)
    is_virtual: bool = False
    custom_options: list[CustomOption] = Field(default_factory=list)
    children: list[NormalizedLine] = Field(default_factory=list)

    @property
    def anything_shipped(self) -> bool:
        return self.qty_shipped > 0 or any(child.anything_shipped for child in self.children)

    @property
    def fully_shipped(self) -> bool:
        """Shipped in full itself, or (a bundle shipped separately) through every physical child."""
        # What was refunded or cancelled before it shipped no longer needs shipping.
        if self.qty_shipped >= self.qty - self.qty_refunded - self.qty_canceled:
            return True
        physical = [child for child in self.children if not child.is_virtual]
        return bool(physical) and all(child.fully_shipped for child in physical)


class OrderUpdated(NormalizedEvent):
    """The current state of an order, with its shipments folded in. Key: the buyer's email."""

    email: str
    entity_id: int
    increment_id: str
    state: str | None = None
    status: str | None = None
    customer_id: int | None = None
    is_guest: bool
    firstname: str | None = None
    lastname: str | None = None
    store_id: int | None = None
    store_name: str | None = None
    quote_id: int | None = None
    currency: str | None = None
    subtotal: Decimal = Decimal(0)
    discount_amount: Decimal = Decimal(0)
    shipping_amount: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    grand_total: Decimal = Decimal(0)
    total_refunded: Decimal = Decimal(0)
    payment_method: str | None = None
    payment_title: str | None = None
    shipping_method: str | None = None
    shipping_description: str | None = None
    coupon_code: str | None = None
    placed_at: AwareDatetime
    updated_at: AwareDatetime
    billing_address: Address | None = None
    delivery_address: Address | None = None
    lines: list[NormalizedLine] = Field(default_factory=list)
    shipped: dict[int, Decimal] = Field(default_factory=dict)  # order item id → qty shipped
    fulfilled: bool = False
    relation_parent_id: int | None = None  # set when this order replaces an edited one
    original_increment_id: str | None = None

    @property
    def net_total(self) -> Decimal:
        return self.grand_total - self.total_refunded


class CustomerUpdated(NormalizedEvent):
    """A registered customer's current details. Key: the (new) email."""

    email: str
    previous_email: str | None = None  # set when this save changed the email
    customer_id: int
    firstname: str | None = None
    lastname: str | None = None
    group_id: int | None = None
    store_id: int | None = None
    website_id: int | None = None
    updated_at: AwareDatetime | None = None
