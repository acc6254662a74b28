"""What products need beyond their search rows, read in bulk: once per sync, the configurable
products' parent links and option attributes; per page, each configurable's children (one call
each) and the stock of every SKU on it and of those children (one inventory read)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.commerce.client import CommerceClient
from connectors.commerce.search import Condition, SearchCriteria
from schemas.catalogue.stock import StockLevel, stock_levels
from schemas.catalogue.variants import (
    CONFIGURABLE,
    OptionAttributes,
    is_configurable,
    option_attribute_ids,
    option_attributes,
    parents,
)

PRODUCTS = "/V1/products"


@dataclass(frozen=True)
class Variants:
    """Child id → parent id, the attributes configurable options name, and the calls taken."""

    parents: Mapping[int, int] = field(default_factory=dict)
    options: OptionAttributes = field(default_factory=OptionAttributes)
    calls: int = 0


@dataclass(frozen=True)
class PageExtras:
    """A page's configurable children (by the parent's SKU), stock by SKU, and the calls taken."""

    children: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    stock: Mapping[str, StockLevel] = field(default_factory=dict)
    calls: int = 0


async def read_variants(client: CommerceClient, page_size: int) -> Variants:
    """Every configurable product's links and the attributes of their options: a child's
    record names its parent wherever the child's own row turns up."""
    criteria = SearchCriteria().where("type_id", Condition.EQ, CONFIGURABLE)
    rows = [row async for row in client.iter_search(PRODUCTS, criteria, page_size)]
    pages = max(1, -(-len(rows) // page_size))
    ids = option_attribute_ids(rows)
    attributes = await client.product_attributes(sorted(ids)) if ids else []
    return Variants(parents(rows), option_attributes(attributes), pages + bool(ids))


async def read_extras(client: CommerceClient, rows: Sequence[Mapping[str, Any]]) -> PageExtras:
    """Each configurable's children on the page (a call each), then the stock of every product
    on the page and of those children, in one call."""
    children = {
        str(row["sku"]): await client.configurable_children(str(row["sku"]))
        for row in rows
        if is_configurable(row) and row.get("sku")
    }
    skus = [str(row["sku"]) for row in rows if row.get("sku")]
    skus += [
        str(child["sku"]) for found in children.values() for child in found if child.get("sku")
    ]
    if not skus:
        return PageExtras(children=children, calls=len(children))
    stock = stock_levels(await client.source_items(skus))
    return PageExtras(children=children, stock=stock, calls=len(children) + 1)
