"""Storefront behaviour events in the shape of Adobe's storefront events SDK (browser-side)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.commerce.model.carts import Quote
from sandbox.commerce.model.products import Product

PRODUCT_PAGE_VIEW = "product-page-view"
CATEGORY_RESULTS_VIEW = "category-results-view"
ADD_TO_CART = "add-to-cart"
STORE_URL = "https://luma.example.com"


@dataclass(frozen=True)
class Visit:
    """Who is browsing: a logged-in customer (with an email) or a guest, and their cart."""

    logged_in: bool
    email: str | None
    cart: Quote | None


def _instance(currency: str) -> dict[str, Any]:
    return {
        "environmentId": "cartwright-sandbox",
        "environment": "Testing",
        "storeUrl": STORE_URL,
        "websiteId": 1,
        "websiteCode": "base",
        "storeId": 1,
        "storeCode": "main_website_store",
        "storeViewId": 1,
        "storeViewCode": "default",
        "baseCurrencyCode": currency,
        "storeViewCurrencyCode": currency,
        "storefrontTemplate": "Luma",
    }


def _product(product: Product, parent: Product | None) -> dict[str, Any]:
    return {
        "productId": product.entity_id,
        "sku": product.sku,
        "name": product.name,
        "topLevelSku": (parent or product).sku,
        "categories": list(product.categories),
        "pricing": {"regularPrice": float(product.price), "currencyCode": "GBP"},
        "canonicalUrl": f"{STORE_URL}/{(parent or product).sku.lower()}.html",
    }


def _cart(cart: Quote | None) -> dict[str, Any]:
    if cart is None:
        return {"id": None, "items": [], "totalQuantity": 0}
    # Luma's storefront carries the quote id itself (the masked id is GraphQL's), so a storefront
    # cart id matches the quote id of the store's quote events.
    return {
        "id": str(cart.entity_id),
        "items": [
            {"product": {"sku": line.sku, "name": line.name}, "quantity": line.qty}
            for line in cart.lines
        ],
        "totalQuantity": sum(line.qty for line in cart.lines),
        "prices": {"subtotalExcludingTax": {"value": float(cart.subtotal), "currency": "GBP"}},
    }


def behaviour_event(
    name: str,
    visit: Visit,
    at: datetime,
    *,
    page: dict[str, Any],
    product: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One SDK event: `{event, eventInfo{…contexts…}}` plus when the browser sent it."""
    info: dict[str, Any] = {
        "pageContext": page,
        "storefrontInstanceContext": _instance("GBP"),
        "shopperContext": {"shopperId": "logged-in" if visit.logged_in else "guest"},
        "shoppingCartContext": _cart(visit.cart),
    }
    if product is not None:
        info["productContext"] = product
    if visit.email:
        info["accountContext"] = {"email": visit.email}
    info.update(extra or {})
    stamp = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"event": name, "eventInfo": info, "timestamp": stamp}


def product_page_view(
    visit: Visit, product: Product, parent: Product | None, at: datetime
) -> dict[str, Any]:
    page = {"pageType": "PDP", "pageName": product.name, "eventType": "visibilityHidden"}
    return behaviour_event(
        PRODUCT_PAGE_VIEW, visit, at, page=page, product=_product(product, parent)
    )


def category_results_view(
    visit: Visit, category: str, products: list[Product], at: datetime
) -> dict[str, Any]:
    page = {"pageType": "Category", "pageName": category.split("/")[-1]}
    results = {
        "categoryContext": {"name": category.split("/")[-1], "urlPath": category.lower()},
        "searchResultsContext": {
            "units": [
                {"products": [{"sku": p.sku, "name": p.name, "productId": p.entity_id}
                              for p in products]}
            ]
        },
    }  # fmt: skip
    return behaviour_event(CATEGORY_RESULTS_VIEW, visit, at, page=page, extra=results)


def add_to_cart(
    visit: Visit, product: Product, parent: Product | None, at: datetime
) -> dict[str, Any]:
    page = {"pageType": "PDP", "pageName": (parent or product).name}
    return behaviour_event(ADD_TO_CART, visit, at, page=page, product=_product(product, parent))
