"""Storefront behaviour in the contract: `storefront.events.v1` (public, resolved to a contact) and
the internal records that carry browser events to the identity Commerce confirms."""

from __future__ import annotations

from decimal import Decimal

from pydantic import AwareDatetime, Field

from schemas.commerce.storefront import SdkEvent
from schemas.contract.normalized import ContractModel

SCHEMA_VERSION = 1


class StorefrontEvent(ContractModel):
    """`storefront.events.v1` (key: normalized email): one browser event of a contact whose email
    Commerce confirmed (the cart's, or a registered customer's)."""

    schema_version: int = SCHEMA_VERSION
    event_id: str = Field(description="a hash of the body as sent: a resent beacon has the same")
    event: str = Field(description="the SDK's event name: product-page-view, add-to-cart, …")
    email: str
    occurred_at: AwareDatetime = Field(
        description="the browser's timestamp, clamped to the arrival time ± the allowed skew"
    )
    received_at: AwareDatetime
    identity: str = Field(description="how the email was confirmed: `cart` or `customer`")
    cart_id: str | None = None
    sku: str | None = None
    top_level_sku: str | None = Field(
        default=None, description="the configurable parent's sku (the sku itself otherwise)"
    )
    product_id: str | None = None
    name: str | None = None
    categories: list[str] = Field(default_factory=list, description="category paths or names")
    price: Decimal | None = None
    currency: str | None = None
    page_type: str | None = None
    page_name: str | None = None
    store_view: str | None = None


class StorefrontReceived(ContractModel):
    """`storefront.raw.v1` (internal; key: `cart:<id>`, else `anon:<client hash>`): an SDK event
    as the collector accepted it, with when it arrived."""

    schema_version: int = SCHEMA_VERSION
    event_id: str
    received_at: AwareDatetime
    event: SdkEvent


class CartIdentified(ContractModel):
    """`cartwright.storefront.carts.v1` (internal; key: `cart:<quote id>`): the email Commerce
    holds on a cart, handed to the partition where that cart's browser events wait."""

    schema_version: int = SCHEMA_VERSION
    quote_id: str
    email: str
    source_event_id: str


class StorefrontClaim(ContractModel):
    """`cartwright.storefront.claims.v1` (internal; key: the claimed email): a browser event whose
    shopper says who they are, checked against the contacts table on that email's partition."""

    schema_version: int = SCHEMA_VERSION
    email: str
    received: StorefrontReceived
