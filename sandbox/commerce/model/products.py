"""Products as Commerce models them: select attributes hold option ids, so do select custom options."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Attribute:
    """A select attribute: products hold one of its option ids, `/options` gives the labels."""

    attribute_id: int
    code: str
    label: str
    options: tuple[tuple[int, str], ...]
    frontend_input: str = "select"  # or "multiselect": products hold option ids comma-joined

    def label_of(self, option_id: int) -> str:
        return dict(self.options)[option_id]


@dataclass(frozen=True)
class CustomOption:
    """A product custom option; `values` (option_type_id, title, price) only for select types."""

    option_id: int
    title: str
    type: str  # field, area, drop_down, radio, multiple
    values: tuple[tuple[int, str, Decimal], ...] = ()
    is_require: bool = False
    price: Decimal = Decimal("0")

    @property
    def selects(self) -> bool:
        return bool(self.values)


@dataclass
class Product:
    """One catalogue product; `attributes` maps select attribute codes to option ids."""

    entity_id: int
    sku: str
    name: str
    type_id: str
    price: Decimal
    created_at: datetime
    updated_at: datetime
    attributes: dict[str, int] = field(default_factory=dict)
    options: tuple[CustomOption, ...] = ()
    children: tuple[str, ...] = ()  # configurable: child skus; bundle: part skus
    parent: str | None = None  # a configurable child's parent sku
    status: int = 1  # 1 enabled, 2 disabled
    visibility: int = 4  # 1 not visible individually ... 4 catalog and search
    categories: tuple[str, ...] = ()
    multi: dict[str, tuple[int, ...]] = field(default_factory=dict)  # multiselect option ids
    special_price: Decimal | None = None
    special_from: datetime | None = None
    special_to: datetime | None = None
    qty: Decimal = Decimal("100")
    image: str | None = None  # media path, e.g. "/m/j/mj01.jpg"
    attribute_set_id: int = 4
    websites: tuple[int, ...] = (1,)  # the websites the product is assigned to
    # Store-view values (store code → `name`, `price` or `status`), over the defaults above.
    store_values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def in_store(self, store_code: str | None) -> Product:
        """The product as a store view sees it: its store-level values over the defaults."""
        values = self.store_values.get(store_code or "")
        return replace(self, **values) if values else self

    def record(self) -> dict[str, Any]:
        """The product save event's value (select attributes hold option ids)."""
        return {
            "entity_id": self.entity_id,
            "sku": self.sku,
            "name": self.name,
            "price": self.price,
            "status": self.status,
            "visibility": self.visibility,
            "type_id": self.type_id,
            "attribute_set_id": 4,
            "has_options": bool(self.options),
            "required_options": any(option.is_require for option in self.options),
            **dict(self.attributes.items()),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def rest(
        self, links: dict[str, int], categories: dict[str, int], *, detail: bool = True
    ) -> dict[str, Any]:
        """`GET /V1/products/{sku}` (`detail`), or a row of `GET /V1/products`: EAV values under
        `custom_attributes`, multiselects comma-joined, dates `Y-m-d H:i:s`. Commerce puts
        `stock_item` on a product's detail only, never on a search page's rows."""
        custom = [
            {"attribute_code": code, "value": str(value)} for code, value in self.attributes.items()
        ]
        custom += [
            {"attribute_code": code, "value": ",".join(map(str, ids))}
            for code, ids in self.multi.items()
        ]
        custom.append({"attribute_code": "url_key", "value": self.sku.lower()})
        if self.image:
            custom += [
                {"attribute_code": code, "value": self.image}
                for code in ("image", "small_image", "thumbnail")
            ]
        if self.special_price is not None:
            custom.append({"attribute_code": "special_price", "value": f"{self.special_price:.6f}"})
        for code, moment in (
            ("special_from_date", self.special_from),
            ("special_to_date", self.special_to),
        ):
            if moment is not None:
                custom.append(
                    {"attribute_code": code, "value": moment.strftime("%Y-%m-%d %H:%M:%S")}
                )
        extension: dict[str, Any] = {
            "website_ids": list(self.websites),
            "category_links": [
                {"position": 0, "category_id": str(categories[path])}
                for path in self.categories
                if path in categories
            ],
        }
        if detail:
            extension["stock_item"] = {
                "item_id": self.entity_id,
                "product_id": self.entity_id,
                "stock_id": 1,
                "qty": float(self.qty),
                "is_in_stock": self.qty > 0,
            }
        if self.type_id == "configurable":
            extension["configurable_product_links"] = [links[sku] for sku in self.children]
        if self.type_id == "bundle":
            extension["bundle_product_options"] = [
                {
                    "option_id": index + 1,
                    "title": sku,
                    "type": "select",
                    "product_links": [{"sku": sku, "qty": 1, "is_default": True}],
                }
                for index, sku in enumerate(self.children)
            ]
        return {
            "id": self.entity_id,
            "sku": self.sku,
            "name": self.name,
            "attribute_set_id": self.attribute_set_id,
            "price": self.price,
            "status": self.status,
            "visibility": self.visibility,
            "type_id": self.type_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "extension_attributes": extension,
            "options": self.rest_options(),
            "custom_attributes": custom,
        }

    def rest_options(self) -> list[dict[str, Any]]:
        """`GET /V1/products/{sku}/options`: titles and, for selects, the value ids' titles."""
        rows = []
        for sort, option in enumerate(self.options, start=1):
            row: dict[str, Any] = {
                "product_sku": self.sku,
                "option_id": option.option_id,
                "title": option.title,
                "type": option.type,
                "sort_order": sort,
                "is_require": option.is_require,
            }
            if option.selects:
                row["values"] = [
                    {
                        "title": title,
                        "sort_order": index,
                        "price": price,
                        "price_type": "fixed",
                        "option_type_id": type_id,
                    }
                    for index, (type_id, title, price) in enumerate(option.values, start=1)
                ]
            else:
                row.update({"price": option.price, "price_type": "fixed", "max_characters": 20})
            rows.append(row)
        return rows
