"""Stock as Commerce's inventory (MSI) lists it per source, summed per SKU for the catalogue:
search pages of products carry none, so a page's stock is read in one call and applied here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from schemas.catalogue.product import CatalogueProduct

IN_STOCK = 1  # a source item's `status`: 1 in stock, 0 out of stock


@dataclass(frozen=True)
class StockLevel:
    """A SKU's stock over every source: the quantity they hold, and whether any sells it."""

    qty: Decimal
    in_stock: bool


def stock_levels(source_items: Iterable[Mapping[str, Any]]) -> dict[str, StockLevel]:
    """`GET /V1/inventory/source-items` rows summed per SKU: quantities added over sources, in
    stock when any source says so; a row without a SKU or with an unreadable quantity counts
    for nothing (one odd row must not stop a sync)."""
    levels: dict[str, StockLevel] = {}
    for item in source_items:
        sku = item.get("sku")
        if not isinstance(sku, str) or not sku:
            continue
        qty = _quantity(item.get("quantity"))
        in_stock = str(item.get("status")) == str(IN_STOCK)
        known = levels.get(sku)
        if known is not None:
            qty, in_stock = known.qty + qty, known.in_stock or in_stock
        levels[sku] = StockLevel(qty, in_stock)
    return levels


def with_stock(product: CatalogueProduct, levels: Mapping[str, StockLevel]) -> CatalogueProduct:
    """The product and its children with the stock `levels` hold for them; a SKU the levels do
    not name keeps what it had (a configurable or bundle product holds no stock itself)."""
    changes: dict[str, Any] = {}
    level = levels.get(product.sku)
    if level is not None:
        changes.update(in_stock=level.in_stock, qty=level.qty)
    children = tuple(
        child.model_copy(update={"in_stock": levels[child.sku].in_stock})
        if child.sku in levels
        else child
        for child in product.children
    )
    if children != product.children:
        changes["children"] = children
    return product.model_copy(update=changes) if changes else product


def _quantity(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() and number > 0 else Decimal(0)
