"""Stock from MSI source items: summed per SKU over sources, applied to a product and its
children, leaving what the items do not name."""

from __future__ import annotations

from decimal import Decimal

from schemas.catalogue.product import CatalogueProduct, Child
from schemas.catalogue.stock import StockLevel, stock_levels, with_stock


def _product(**changes: object) -> CatalogueProduct:
    return CatalogueProduct.model_validate(
        {"id": 1, "sku": "MJ01", "name": "Kit", "type": "simple", "price": "42", **changes}
    )


def test_quantities_add_up_over_sources_and_any_source_in_stock_sells_it() -> None:
    levels = stock_levels(
        [
            {"sku": "A", "source_code": "default", "quantity": 3, "status": 1},
            {"sku": "A", "source_code": "north", "quantity": 2.5, "status": 0},
            {"sku": "B", "source_code": "default", "quantity": 0, "status": 0},
        ]
    )

    assert levels == {
        "A": StockLevel(Decimal("5.5"), True),
        "B": StockLevel(Decimal(0), False),
    }


def test_rows_without_a_sku_or_a_readable_quantity_count_for_nothing() -> None:
    levels = stock_levels(
        [
            {"source_code": "default", "quantity": 3, "status": 1},
            {"sku": "C", "quantity": "NaN", "status": "1"},
            {"sku": "D", "quantity": "lots", "status": 0},
        ]
    )

    assert levels == {"C": StockLevel(Decimal(0), True), "D": StockLevel(Decimal(0), False)}


def test_stock_lands_on_the_product_and_its_children() -> None:
    product = _product(
        type="configurable",
        children=[Child(id=2, sku="MJ01-S"), Child(id=3, sku="MJ01-M", in_stock=True)],
    )

    stocked = with_stock(product, {"MJ01-S": StockLevel(Decimal(4), True)})

    assert stocked.in_stock is None and stocked.qty is None
    assert [child.in_stock for child in stocked.children] == [True, True]


def test_a_sku_the_levels_do_not_name_keeps_its_own_stock() -> None:
    product = _product(in_stock=True, qty="7")

    assert with_stock(product, {"OTHER": StockLevel(Decimal(0), False)}) is product
    assert with_stock(product, {"MJ01": StockLevel(Decimal(0), False)}).in_stock is False
