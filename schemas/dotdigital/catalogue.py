"""The account-scoped catalogue insight records (`Catalog_Default`, `Catalog_<website>_<store>`),
in the official Commerce extension's names, with the merchant's mapped attributes as labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from schemas.catalogue.mapping import CatalogueMapping
from schemas.catalogue.product import NOT_VISIBLE_INDIVIDUALLY, VISIBILITY, CatalogueProduct
from schemas.dotdigital.amounts import money, quantity
from schemas.dotdigital.bodies import InsightRecord, compact

CATALOG_DEFAULT = "Catalog_Default"
CATALOG_TYPE = "catalog"
# A product Commerce no longer has: its record stays, marked, as the collection allows.
DELETED = "Deleted"


def catalogue_collection(website: str | None = None, store: str | None = None) -> str:
    """`Catalog_Default`, or `Catalog_<website>_<store>` for one store view (the extension's
    naming, so programs and recommendations built on it keep working)."""
    if website is None or store is None:
        return CATALOG_DEFAULT
    return f"Catalog_{website}_{store}"


def deleted(document: dict[str, Any]) -> dict[str, Any]:
    """A record marked as the collection allows for a product gone (from Commerce, or from the
    store view's website): `status` "Deleted" and not visible, so segments and
    recommendations drop it."""
    return {**document, "status": DELETED, "visibility": VISIBILITY[NOT_VISIBLE_INDIVIDUALLY]}


@dataclass(frozen=True)
class Gap:
    """A mapped attribute a product has no value for: it is missing from segments on it."""

    sku: str
    code: str
    field: str


def catalogue_record(
    product: CatalogueProduct, mapping: CatalogueMapping, today: date
) -> tuple[InsightRecord, list[Gap]]:
    """The product's record (key: the product id) and the mapped attributes it lacks; the
    record is written either way, without them."""
    attributes = {
        name: product.attributes[code]
        for code, name in mapping.fields.items()
        if product.attributes.get(code) not in (None, "")
    }
    gaps = [
        Gap(product.sku, code, name)
        for code, name in mapping.fields.items()
        if product.attributes.get(code) in (None, "")
    ]
    special = product.special_price_on(today)
    document: dict[str, Any] = compact(
        {
            "id": product.id,
            "parent_id": product.parent_id,
            "name": product.name,
            "sku": product.sku,
            "status": "Enabled" if product.enabled else "Disabled",
            "visibility": VISIBILITY.get(product.visibility, str(product.visibility)),
            "price": money(product.price),
            "specialPrice": money(special) if special is not None else None,
            "specialPriceFrom": _day(product.special_from),
            "specialPriceTo": _day(product.special_to),
            "categories": [{"Id": c.id, "Name": c.name} for c in product.categories],
            "categoryPaths": [c.path for c in product.categories],
            "url": product.url,
            "imagePath": product.image_url,
            "stock": None if product.in_stock is None else _stock(product.in_stock),
            "stockQty": quantity(product.qty) if product.qty is not None else None,
            "type": product.type,
            "attribute_set": product.attribute_set,
            "created_date": (
                product.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
                if product.created_at
                else None
            ),
            "attributes": attributes,
            "children": [
                compact(
                    {
                        "id": child.id,
                        "sku": child.sku,
                        "options": dict(child.options),
                        "stock": None if child.in_stock is None else _stock(child.in_stock),
                    }
                )
                for child in product.children
            ],
        }
    )
    return InsightRecord(key=str(product.id), json_=document), gaps


def _day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _stock(in_stock: bool) -> str:
    return "In Stock" if in_stock else "Out of Stock"
