"""A Commerce REST product (`GET /V1/products/{sku}`, store view scope) resolved for the
catalogue: option ids made labels, category ids made names and paths, the url and image made
absolute, the special price with its dates, stock, and a configurable product's children.

Commerce quirks this follows: select attributes hold option ids as text, multiselects hold them
comma-joined; custom attribute dates are `Y-m-d H:i:s`; `stock_item` is on a product's detail
only, never on a search page; a configurable product's own price is 0 (its children carry it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from schemas.catalogue.product import CatalogueProduct, Category, Child
from schemas.commerce.numbers import MONEY, NumberOutOfRange, read_number, within


@dataclass(frozen=True)
class Lookups:
    """What a product's ids are resolved with, read once per sync."""

    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # code → id → label
    attribute_codes: Mapping[int, str] = field(default_factory=dict)  # attribute id → code
    parents: Mapping[int, int] = field(default_factory=dict)  # child id → configurable's id
    categories: Mapping[int, Category] = field(default_factory=dict)
    attribute_sets: Mapping[int, str] = field(default_factory=dict)
    store_url: str = ""  # e.g. https://shop.example.com/
    media_url: str = ""  # e.g. https://shop.example.com/media/catalog/product
    url_suffix: str = ".html"


class ProductUnreadable(ValueError):
    """A product row without what a catalogue record needs (an id, a sku): a SKU exception."""

    def __init__(self, sku: str, why: str) -> None:
        super().__init__(f"product {sku}: {why}")
        self.sku = sku


def shelves(tree: Mapping[str, Any]) -> dict[int, Category]:
    """Every category under the store's root category (`GET /V1/categories`), by id, named by
    its path from there (`Gear/Bags`); the root and the store's root category are no shelves."""
    found: dict[int, Category] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for child in node.get("children_data") or []:
            if not isinstance(child, Mapping) or not str(child.get("id", "")).isdigit():
                continue
            path = f"{prefix}{child.get('name') or child['id']}"
            found[int(child["id"])] = Category(
                id=int(child["id"]), name=str(child.get("name") or child["id"]), path=path
            )
            walk(child, f"{path}/")

    for root in tree.get("children_data") or []:
        if isinstance(root, Mapping):
            walk(root, "")
    return found


def resolve(
    rest: Mapping[str, Any], children: Sequence[Mapping[str, Any]], lookups: Lookups
) -> CatalogueProduct:
    """The catalogue's view of one product; `children`: a configurable product's children.
    Raises `ProductUnreadable` for a row (or child) without a usable id or sku."""
    try:
        return _resolve(rest, children, lookups)
    except (KeyError, ValueError, TypeError) as exc:
        raise ProductUnreadable(
            str(rest.get("sku", "?"))[:64], f"{type(exc).__name__}: {exc}"
        ) from exc


def _resolve(
    rest: Mapping[str, Any], children: Sequence[Mapping[str, Any]], lookups: Lookups
) -> CatalogueProduct:
    custom = _custom(rest)
    extension = rest.get("extension_attributes") or {}
    stock = extension.get("stock_item") or {}
    options = extension.get("configurable_product_options") or []
    option_codes = [
        lookups.attribute_codes[int(option["attribute_id"])]
        for option in options
        if str(option.get("attribute_id", "")).isdigit()
        and int(option["attribute_id"]) in lookups.attribute_codes
    ]
    links = extension.get("category_links") or []
    return CatalogueProduct(
        id=int(rest["id"]),
        sku=str(rest["sku"]),
        name=str(rest.get("name") or rest["sku"]),
        type=str(rest.get("type_id") or "simple"),
        attribute_set=lookups.attribute_sets.get(int(rest.get("attribute_set_id") or 0)),
        status=int(rest.get("status") or 1),
        visibility=int(rest.get("visibility") or 4),
        price=_money(rest.get("price")) or Decimal(0),
        special_price=_money(custom.get("special_price")),
        special_from=_day(custom.get("special_from_date")),
        special_to=_day(custom.get("special_to_date")),
        url=_url(lookups, custom.get("url_key")),
        image_url=_image(lookups, custom.get("image")),
        in_stock=_flag(stock.get("is_in_stock")),
        qty=_money(stock.get("qty")),
        categories=tuple(
            lookups.categories[int(link["category_id"])]
            for link in links
            if str(link.get("category_id", "")).isdigit()
            and int(link["category_id"]) in lookups.categories
        ),
        parent_id=lookups.parents.get(int(rest["id"])),
        children=tuple(_child(child, option_codes, lookups) for child in children),
        attributes=labelled(custom, lookups.labels),
        created_at=_moment(rest.get("created_at")),
        updated_at=_moment(rest.get("updated_at")),
    )


def labelled(custom: Mapping[str, Any], labels: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Every attribute with labels (a select's or multiselect's), as its labels; an option id
    with no label is left out (a deleted option), and so is an empty value."""
    found: dict[str, str] = {}
    for code, options in labels.items():
        value = custom.get(code)
        if value in (None, ""):
            continue
        named = [options[part.strip()] for part in str(value).split(",") if part.strip() in options]
        if named:
            found[code] = ", ".join(named)
    return found


def _custom(rest: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(item.get("attribute_code")): item.get("value")
        for item in rest.get("custom_attributes") or []
        if isinstance(item, Mapping)
    }


def _child(child: Mapping[str, Any], codes: Sequence[str], lookups: Lookups) -> Child:
    values = labelled(_custom(child), {code: lookups.labels.get(code, {}) for code in codes})
    stock = (child.get("extension_attributes") or {}).get("stock_item") or {}
    return Child(
        id=int(child["id"]),
        sku=str(child["sku"]),
        options={_title(code): label for code, label in values.items()},
        in_stock=_flag(stock.get("is_in_stock")),
    )


def _title(code: str) -> str:
    # An attribute code's characters ([a-z0-9_]) are all a Dotdigital JSON key takes: no spaces.
    return code.capitalize()


def _money(value: Any) -> Decimal | None:
    """A price or quantity as Commerce's column holds it; what no column holds (NaN, 1e999999,
    a negative price) is left out, never raised: one odd product must not stop a sync."""
    try:
        number = read_number(value)
        return None if number is None else within(number, value, MONEY, signed=False)
    except NumberOutOfRange:
        return None


def _day(value: Any) -> date | None:
    moment = _moment(value)
    return moment.date() if moment else None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Commerce stores and answers UTC without saying so.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _url(lookups: Lookups, key: Any) -> str | None:
    if not key or not lookups.store_url:
        return None
    return f"{lookups.store_url.rstrip('/')}/{key}{lookups.url_suffix}"


def _image(lookups: Lookups, path: Any) -> str | None:
    if not path or path == "no_selection" or not lookups.media_url:
        return None
    return f"{lookups.media_url.rstrip('/')}/{str(path).lstrip('/')}"
