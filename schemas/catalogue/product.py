"""A product as the catalogue needs it, resolved from Commerce REST: labels, not option ids;
category names and paths; a configurable product's children and their options."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

ENABLED = 1  # Commerce's `status`: 1 enabled, 2 disabled
NOT_VISIBLE_INDIVIDUALLY = 1
VISIBILITY = {1: "Not Visible Individually", 2: "Catalog", 3: "Search", 4: "Catalog, Search"}


class Category(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    path: str = Field(description="names from the root, e.g. 'Gear/Bags'")


class Child(BaseModel):
    """A configurable product's child: its options as labels (`{"Size": "M", "Color": "Red"}`)."""

    model_config = ConfigDict(frozen=True)

    id: int
    sku: str
    options: dict[str, str] = Field(default_factory=dict)
    in_stock: bool | None = None


class CatalogueProduct(BaseModel):
    """One product of one store view, as Commerce holds it now."""

    model_config = ConfigDict(frozen=True)

    id: int
    sku: str
    name: str
    type: str = Field(description="simple, configurable, bundle, virtual, …")
    attribute_set: str | None = None
    status: int = ENABLED
    visibility: int = 4
    price: Decimal
    special_price: Decimal | None = None
    special_from: date | None = None
    special_to: date | None = None
    url: str | None = None
    image_url: str | None = None
    in_stock: bool | None = None
    qty: Decimal | None = None
    categories: tuple[Category, ...] = ()
    parent_id: int | None = None
    children: tuple[Child, ...] = ()
    attributes: dict[str, str] = Field(
        default_factory=dict, description="attribute code → label (multiselects comma-joined)"
    )
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def enabled(self) -> bool:
        return self.status == ENABLED

    def special_price_on(self, day: date) -> Decimal | None:
        """The special price when it applies on `day` (Commerce's dates are inclusive)."""
        if self.special_price is None:
            return None
        if self.special_from is not None and day < self.special_from:
            return None
        if self.special_to is not None and day > self.special_to:
            return None
        return self.special_price
