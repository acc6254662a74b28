"""Browser events into the contract: a deterministic id, a trusted time, and the resolved shape."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

import orjson

from schemas.commerce.storefront import SdkEvent
from schemas.contract.storefront import StorefrontEvent, StorefrontReceived

CART_KEY = "cart:"
ANONYMOUS_KEY = "anon:"


def event_id(body: bytes) -> str:
    """The id of one event as its body was sent: a resent beacon gets the same id."""
    return hashlib.sha256(body).hexdigest()[:32]


def canonical(event: SdkEvent) -> bytes:
    """One event's bytes as the id is taken from (a batch's events get one each)."""
    return orjson.dumps(event.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)


def received(event: SdkEvent, at: datetime) -> StorefrontReceived:
    """An accepted event as the raw topic keeps it."""
    return StorefrontReceived(event_id=event_id(canonical(event)), received_at=at, event=event)


def raw_key(event: SdkEvent, client: str) -> str:
    """`cart:<id>` for an event with a cart (where its identity will come from), else a key of
    the client so one browser's events stay in order."""
    cart = event.cart_id
    if cart is not None:
        return f"{CART_KEY}{cart}"
    return f"{ANONYMOUS_KEY}{hashlib.sha256(client.encode()).hexdigest()[:16]}"


def cart_key(quote_id: str) -> str:
    return f"{CART_KEY}{quote_id}"


def clamp(stamp: datetime, arrived: datetime, skew: timedelta) -> datetime:
    """The browser's time, never further than `skew` from when the event arrived: a far-future
    (or far-past) stamp cannot move a contact's windows."""
    return min(max(stamp, arrived - skew), arrived + skew)


def resolved(
    raw: StorefrontReceived, email: str, identity: str, skew: timedelta
) -> StorefrontEvent:
    """The public event of a raw one whose contact Commerce confirmed as `email`."""
    sdk = raw.event
    info = sdk.event_info
    product = info.product_context
    page = info.page_context
    categories: list[str] = []
    if product is not None:
        categories = list(product.categories)
    elif info.category_context is not None:
        path = info.category_context.url_path or info.category_context.name
        categories = [path] if path else []
    pricing = product.pricing if product else None
    price = pricing.special_price or pricing.regular_price if pricing else None
    instance = info.storefront_instance_context
    return StorefrontEvent(
        event_id=raw.event_id,
        event=sdk.event,
        email=email,
        occurred_at=clamp(sdk.timestamp, raw.received_at, skew),
        received_at=raw.received_at,
        identity=identity,
        cart_id=sdk.cart_id,
        sku=product.sku if product else None,
        top_level_sku=(product.top_level_sku or product.sku) if product else None,
        product_id=None
        if product is None or product.product_id is None
        else str(product.product_id),
        name=product.name if product else None,
        categories=categories,
        price=None if price is None else Decimal(str(price)),
        currency=pricing.currency_code if pricing else None,
        page_type=page.page_type if page else None,
        page_name=page.page_name if page else None,
        store_view=instance.store_view_code if instance else None,
    )
