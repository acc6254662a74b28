"""What a page of products needs beyond its search rows, read in bulk: the stock of every SKU
on it (one inventory read per page, as search rows carry none)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.commerce.client import CommerceClient
from schemas.catalogue.stock import StockLevel, stock_levels


@dataclass(frozen=True)
class PageExtras:
    """A page's stock by SKU, and the Commerce calls it took."""

    stock: Mapping[str, StockLevel] = field(default_factory=dict)
    calls: int = 0


async def read_extras(client: CommerceClient, rows: Sequence[Mapping[str, Any]]) -> PageExtras:
    """The stock of every product on the page, in one call."""
    skus = [str(row["sku"]) for row in rows if row.get("sku")]
    if not skus:
        return PageExtras()
    return PageExtras(stock=stock_levels(await client.source_items(skus)), calls=1)
