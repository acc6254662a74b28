"""The catalogue record: the extension's names, labels for mapped attributes, gaps named."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from schemas.catalogue.mapping import CatalogueMapping
from schemas.catalogue.product import CatalogueProduct, Category, Child
from schemas.dotdigital.catalogue import (
    CATALOG_DEFAULT,
    Gap,
    catalogue_collection,
    catalogue_record,
)

MAPPING = CatalogueMapping.model_validate(
    {"fields": {"color": "colour", "material": "material"}, "orders": {"lines": ["color"]}}
)
TODAY = date(2026, 12, 6)


def jacket(**changes: object) -> CatalogueProduct:
    product = CatalogueProduct(
        id=1400,
        sku="MJ01",
        name="Beaumont Summit Kit",
        type="configurable",
        attribute_set="Top",
        price=Decimal("42.00"),
        special_price=Decimal("35.00"),
        special_from=date(2026, 12, 1),
        special_to=date(2026, 12, 31),
        url="https://shop.example.com/mj01.html",
        image_url="https://shop.example.com/media/mj01.jpg",
        in_stock=True,
        qty=Decimal("12"),
        categories=(Category(id=14, name="Jackets", path="Men/Jackets"),),
        children=(Child(id=1401, sku="MJ01-S-Red", options={"Size": "S", "Color": "Red"}),),
        attributes={"color": "Red", "material": "Polyester"},
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    return product.model_copy(update=changes)


def test_a_product_becomes_the_extensions_record_with_mapped_labels() -> None:
    record, gaps = catalogue_record(jacket(), MAPPING, TODAY)

    assert record.key == "1400" and record.contact_identity is None
    assert record.json_ == {
        "id": 1400,
        "name": "Beaumont Summit Kit",
        "sku": "MJ01",
        "status": "Enabled",
        "visibility": "Catalog, Search",
        "price": 42.0,
        "specialPrice": 35.0,
        "specialPriceFrom": "2026-12-01",
        "specialPriceTo": "2026-12-31",
        "categories": [{"Id": 14, "Name": "Jackets"}],
        "categoryPaths": ["Men/Jackets"],
        "url": "https://shop.example.com/mj01.html",
        "imagePath": "https://shop.example.com/media/mj01.jpg",
        "stock": "In Stock",
        "stockQty": 12,
        "type": "configurable",
        "attribute_set": "Top",
        "created_date": "2026-01-02 03:04:05",
        "attributes": {"colour": "Red", "material": "Polyester"},
        "children": [{"id": 1401, "sku": "MJ01-S-Red", "options": {"Size": "S", "Color": "Red"}}],
    }
    assert gaps == []


def test_a_special_price_outside_its_dates_is_not_the_price_of_the_day() -> None:
    record, _ = catalogue_record(jacket(special_to=date(2026, 12, 5)), MAPPING, TODAY)

    assert "specialPrice" not in record.json_
    assert record.json_["specialPriceTo"] == "2026-12-05"


def test_a_missing_mapped_attribute_is_a_gap_and_the_record_still_goes() -> None:
    record, gaps = catalogue_record(jacket(attributes={"color": "Red"}), MAPPING, TODAY)

    assert gaps == [Gap("MJ01", "material", "material")]
    assert record.json_["attributes"] == {"colour": "Red"}


def test_a_disabled_product_says_so() -> None:
    record, _ = catalogue_record(jacket(status=2, visibility=1), MAPPING, TODAY)

    assert (record.json_["status"], record.json_["visibility"]) == (
        "Disabled",
        "Not Visible Individually",
    )


def test_a_store_views_collection_is_named_as_the_extension_names_it() -> None:
    assert catalogue_collection() == CATALOG_DEFAULT == "Catalog_Default"
    assert catalogue_collection("base", "default") == "Catalog_base_default"
