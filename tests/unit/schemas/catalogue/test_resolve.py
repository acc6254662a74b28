"""A Commerce REST product resolved for the catalogue: labels, categories, urls, stock, children."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from schemas.catalogue.product import Category
from schemas.catalogue.resolve import Lookups, ProductUnreadable, resolve, shelves

LOOKUPS = Lookups(
    labels={
        "color": {"58": "Red", "49": "Black"},
        "size": {"167": "S", "168": "M"},
        "activity": {"11": "Hiking", "12": "Yoga"},
    },
    attribute_codes={93: "color", 144: "size"},
    categories={14: Category(id=14, name="Jackets", path="Men/Jackets")},
    attribute_sets={9: "Top"},
    store_url="https://shop.example.com/",
    media_url="https://shop.example.com/media/catalog/product",
)


def custom(**values: str) -> list[dict[str, str]]:
    return [{"attribute_code": code, "value": value} for code, value in values.items()]


def child(ident: int, sku: str, size: str, in_stock: bool) -> dict[str, Any]:
    return {
        "id": ident,
        "sku": sku,
        "type_id": "simple",
        "custom_attributes": custom(color="58", size=size),
        "extension_attributes": {"stock_item": {"qty": 3, "is_in_stock": in_stock}},
    }


JACKET: dict[str, Any] = {
    "id": 1400,
    "sku": "MJ01",
    "name": "Beaumont Summit Kit",
    "attribute_set_id": 9,
    "price": 0,
    "status": 1,
    "visibility": 4,
    "type_id": "configurable",
    "created_at": "2026-01-02 03:04:05",
    "updated_at": "2026-11-30 10:00:00",
    "extension_attributes": {
        "website_ids": [1],
        "category_links": [{"position": 0, "category_id": "14"}, {"category_id": "999"}],
        "stock_item": {"qty": 0, "is_in_stock": True},
        "configurable_product_options": [
            {"attribute_id": "93", "label": "Color"},
            {"attribute_id": "144", "label": "Size"},
        ],
        "configurable_product_links": [1401, 1402],
    },
    "custom_attributes": custom(
        url_key="beaumont-summit-kit",
        image="/m/j/mj01-red_main.jpg",
        special_price="35.000000",
        special_from_date="2026-12-01 00:00:00",
        special_to_date="2026-12-31 00:00:00",
        activity="11,12,99",
        color="",
    ),
}


def test_a_configurable_product_is_resolved_with_labels_and_its_children() -> None:
    children = [child(1401, "MJ01-S-Red", "167", True), child(1402, "MJ01-M-Red", "168", False)]

    product = resolve(JACKET, children, LOOKUPS)

    assert (product.id, product.sku, product.type, product.attribute_set) == (
        1400,
        "MJ01",
        "configurable",
        "Top",
    )
    assert product.url == "https://shop.example.com/beaumont-summit-kit.html"
    assert (
        product.image_url == "https://shop.example.com/media/catalog/product/m/j/mj01-red_main.jpg"
    )
    assert (product.special_price, product.special_from, product.special_to) == (
        Decimal("35.000000"),
        date(2026, 12, 1),
        date(2026, 12, 31),
    )
    # A multiselect's ids as labels, an unknown option id left out, an empty value absent.
    assert product.attributes == {"activity": "Hiking, Yoga"}
    assert product.categories == (Category(id=14, name="Jackets", path="Men/Jackets"),)
    assert [(c.sku, c.options, c.in_stock) for c in product.children] == [
        ("MJ01-S-Red", {"Color": "Red", "Size": "S"}, True),
        ("MJ01-M-Red", {"Color": "Red", "Size": "M"}, False),
    ]
    assert product.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert product.in_stock is True


def test_a_search_page_row_without_stock_or_images_resolves_without_them() -> None:
    row = {"id": 36, "sku": "24-WG02", "name": "Didi Sport Watch", "price": 92, "status": 2}

    product = resolve(row, [], LOOKUPS)

    assert (product.in_stock, product.qty, product.image_url, product.url) == (
        None,
        None,
        None,
        None,
    )
    assert not product.enabled
    assert product.price == Decimal("92")


def test_hostile_numbers_and_dates_are_left_out_not_raised() -> None:
    row = {
        "id": 7,
        "sku": "ODD",
        "price": "NaN",
        "custom_attributes": custom(
            special_price="1e999999", special_from_date="someday", image="no_selection"
        ),
    }

    product = resolve(row, [], LOOKUPS)

    assert product.price == Decimal(0)
    assert (product.special_price, product.special_from, product.image_url) == (None, None, None)


def test_a_row_without_a_usable_id_is_unreadable_by_its_sku() -> None:
    with pytest.raises(ProductUnreadable) as unreadable:
        resolve({"id": "first", "sku": "BAD-1"}, [], LOOKUPS)

    assert unreadable.value.sku == "BAD-1"


def test_the_category_tree_becomes_shelves_named_by_their_paths() -> None:
    tree = {
        "id": 1,
        "name": "Root Catalog",
        "children_data": [
            {
                "id": 2,
                "name": "Default Category",
                "children_data": [
                    {"id": 3, "name": "Gear", "children_data": [{"id": 4, "name": "Bags"}]},
                    {"id": "x", "name": "Broken"},
                ],
            }
        ],
    }

    assert shelves(tree) == {
        3: Category(id=3, name="Gear", path="Gear"),
        4: Category(id=4, name="Bags", path="Gear/Bags"),
    }
