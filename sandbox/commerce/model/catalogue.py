"""The sandbox store's catalogue, after Luma: every product type, select attributes and their labels."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.commerce.model.lines import BundlePart, Line
from sandbox.commerce.model.products import Attribute, CustomOption, Product

ATTRIBUTES = {
    attribute.code: attribute
    for attribute in (
        Attribute(
            93,
            "color",
            "Color",
            (
                (49, "Black"),
                (50, "Blue"),
                (53, "Green"),
                (57, "Purple"),
                (58, "Red"),
                (59, "White"),
            ),
        ),
        Attribute(144, "size", "Size", ((166, "XS"), (167, "S"), (168, "M"), (169, "L"))),
        Attribute(
            136, "material", "Material", ((33, "Cotton"), (35, "Leather"), (38, "Polyester"))
        ),
        Attribute(
            83,
            "brand",
            "Brand",
            ((201, "Luma"), (202, "Joust"), (203, "Sprite"), (204, "Didi"), (205, "Beaumont")),
        ),
        # A multiselect: products hold several option ids, comma-joined.
        Attribute(
            145,
            "activity",
            "Activity",
            ((11, "Hiking"), (12, "Yoga"), (13, "Running"), (14, "Gym"), (15, "Travel")),
            "multiselect",
        ),
    )
}
# Websites and their store views, as `GET /V1/store/websites` and `/V1/store/storeViews` list
# them: id, code, name (and the store view's website); 0 is the admin's.
WEBSITES = ((0, "admin", "Admin"), (1, "base", "Main Website"), (2, "eu", "EU Website"))
STORE_VIEWS = (
    (0, "admin", "Admin", 0),
    (1, "default", "Default Store View", 1),
    (2, "eu_en", "EU English", 2),
)
# Attribute sets by id, as `GET /V1/products/attribute-sets/sets/list` names them.
ATTRIBUTE_SETS = {4: "Default", 9: "Top", 15: "Bag", 16: "Gear"}
# The generated catalogue's shelves, and the select values its products draw from.
_SHELVES = ("Gear/Bags", "Gear/Fitness", "Gear/Watches", "Men/Jackets", "Women/Tops", "Training")


ENGRAVING = CustomOption(7, "Engraving", "field", price=Decimal("5.00"))
GIFT_WRAP = CustomOption(
    8,
    "Gift wrap",
    "drop_down",
    (
        (21, "No wrapping", Decimal("0")),
        (22, "Recycled paper", Decimal("2.00")),
        (23, "Linen bag", Decimal("4.00")),
    ),
)
EXTRAS = CustomOption(
    9,
    "Extras",
    "multiple",
    ((31, "Spare strap", Decimal("6.00")), (32, "Travel pouch", Decimal("3.00"))),
)

# id, sku, name, price, select attributes, custom options, category
_SIMPLE: tuple[tuple[int, str, str, str, dict[str, int], tuple[CustomOption, ...], str], ...] = (
    (1, "24-MB01", "Joust Duffle Bag", "34.00", {"color": 49, "material": 38}, (GIFT_WRAP,), "Gear/Bags"),
    (14, "24-MB04", "Strive Shoulder Pack", "32.00", {"color": 50, "material": 35}, (), "Gear/Bags"),
    (36, "24-WG02", "Didi Sport Watch", "92.00", {"color": 49}, (ENGRAVING, EXTRAS), "Gear/Watches"),
    (43, "24-UG06", "Affirm Water Bottle", "7.00", {"color": 53}, (ENGRAVING,), "Gear/Fitness"),
    (47, "24-WG081-blue", "Sprite Stasis Ball 55 cm", "23.00", {"color": 50}, (), "Gear/Fitness"),
    (48, "24-WG084", "Sprite Foam Yoga Brick", "5.00", {"color": 57}, (), "Gear/Fitness"),
    (49, "24-WG085", "Sprite Yoga Strap 6 foot", "14.00", {"color": 59}, (), "Gear/Fitness"),
)  # fmt: skip
# parent id, parent sku, name, price, category, children (id, size, color)
_CONFIGURABLE = (
    (1400, "MJ01", "Beaumont Summit Kit", "42.00", "Men/Jackets",
     ((1401, "S", "Red"), (1402, "M", "Red"), (1403, "S", "Black"), (1404, "M", "Black"))),
    (1545, "WS03", "Iris Workout Top", "29.00", "Women/Tops",
     ((1546, "XS", "Blue"), (1547, "S", "Blue"), (1548, "XS", "Green"))),
)  # fmt: skip


class Catalogue:
    """Every product by sku and id, and the labels behind option ids."""

    def __init__(self, created_at: datetime) -> None:
        self.products: dict[str, Product] = {}
        self._ids: dict[str, int] = {}
        self._categories: dict[str, int] | None = None
        self.attributes = ATTRIBUTES
        self.created_at = created_at
        for entity_id, sku, name, price, attributes, options, category in _SIMPLE:
            self._add(
                Product(entity_id, sku, name, "simple", Decimal(price), created_at, created_at,
                        dict(attributes), options, categories=(category,))
            )  # fmt: skip
        for parent_id, parent_sku, name, price, category, variants in _CONFIGURABLE:
            children = []
            for child_id, size, color in variants:
                sku = f"{parent_sku}-{size}-{color}"
                colour_id = next(i for i, label in ATTRIBUTES["color"].options if label == color)
                size_id = next(i for i, label in ATTRIBUTES["size"].options if label == size)
                self._add(
                    Product(child_id, sku, f"{name}-{size}-{color}", "simple", Decimal(price),
                            created_at, created_at, {"color": colour_id, "size": size_id},
                            parent=parent_sku, visibility=1, categories=(category,))
                )  # fmt: skip
                children.append(sku)
            self._add(
                Product(parent_id, parent_sku, name, "configurable", Decimal(price), created_at,
                        created_at, children=tuple(children), categories=(category,))
            )  # fmt: skip
        self._add(
            Product(46, "24-WG080", "Sprite Yoga Companion Kit", "bundle", Decimal("42.00"),
                    created_at, created_at, children=("24-WG081-blue", "24-WG084", "24-WG085"),
                    categories=("Gear/Fitness",))
        )  # fmt: skip
        self._add(
            Product(60, "VRT-YOGA-10", "Ten Yoga Classes Pass", "virtual", Decimal("45.00"),
                    created_at, created_at, options=(ENGRAVING,), categories=("Training",))
        )  # fmt: skip

    def _add(self, product: Product) -> None:
        self.products[product.sku] = product
        self._ids[product.sku] = product.entity_id
        self._categories = None

    def grow(self, count: int, seed: int = 1) -> list[Product]:
        """`count` more simple products, the same for the same seed: brands, colours, activities
        (a multiselect), shelves, prices, some on special, some out of stock, about one in forty
        disabled, about one in ten without a material (a mapped attribute left empty), and one
        in three also on the EU website, with a name and a price of its own there."""
        rng = random.Random(seed)  # noqa: S311 - a deterministic catalogue, not cryptography
        first = max((p.entity_id for p in self.products.values()), default=0) + 1
        made = []
        for n in range(count):
            entity_id = first + n
            attributes = {
                "brand": rng.choice(self.attributes["brand"].options)[0],
                "color": rng.choice(self.attributes["color"].options)[0],
            }
            if rng.random() >= 0.1:
                attributes["material"] = rng.choice(self.attributes["material"].options)[0]
            activities = rng.sample(self.attributes["activity"].options, rng.randint(0, 3))
            price = Decimal(rng.randint(500, 25_000)) / 100
            on_special = rng.random() < 0.15
            product = Product(
                entity_id,
                f"GEN-{entity_id:06d}",
                f"Generated product {entity_id}",
                "simple",
                price,
                self.created_at,
                self.created_at,
                attributes,
                categories=(rng.choice(_SHELVES),),
                multi={"activity": tuple(sorted(i for i, _ in activities))} if activities else {},
                status=2 if rng.random() < 0.025 else 1,
                special_price=(price * Decimal("0.8")).quantize(Decimal("0.01"))
                if on_special
                else None,
                special_from=self.created_at if on_special else None,
                special_to=self.created_at + timedelta(days=30) if on_special else None,
                qty=Decimal(0) if rng.random() < 0.05 else Decimal(rng.randint(1, 500)),
                image=f"/g/e/gen-{entity_id:06d}.jpg",
                attribute_set_id=rng.choice(tuple(ATTRIBUTE_SETS)),
            )
            if entity_id % 3 == 0:
                product.websites = (1, 2)
                product.store_values["eu_en"] = {
                    "name": f"Generated product {entity_id} (EU)",
                    "price": (price * Decimal("1.1")).quantize(Decimal("0.01")),
                }
            self._add(product)
            made.append(product)
        return made

    def delete(self, sku: str) -> Product:
        """A product deleted in the admin: gone from REST (its save event is all that remains)."""
        self._ids.pop(sku)
        self._categories = None
        return self.products.pop(sku)

    def category_ids(self) -> dict[str, int]:
        """Every shelf path and its parents, by path, numbered from 3 (1 is the root, 2 the
        store's default category), in a stable order; kept until the catalogue changes."""
        if self._categories is not None:
            return self._categories
        paths = sorted(
            {
                "/".join(path.split("/")[: depth + 1])
                for product in self.products.values()
                for path in product.categories
                for depth in range(len(path.split("/")))
            }
        )
        self._categories = {path: 3 + n for n, path in enumerate(paths)}
        return self._categories

    def category_tree(self) -> dict[str, Any]:
        """`GET /V1/categories`: the tree under the root, each node with its children."""
        ids = self.category_ids()

        def node(ident: int, parent: int, name: str, level: int, prefix: str) -> dict[str, Any]:
            below = [p for p in ids if p.startswith(prefix) and "/" not in p[len(prefix) :]]
            return {
                "id": ident,
                "parent_id": parent,
                "name": name,
                "is_active": True,
                "position": 1,
                "level": level,
                "product_count": 0,
                "children_data": [
                    node(ids[path], ident, path.rsplit("/", 1)[-1], level + 1, f"{path}/")
                    for path in below
                ],
            }

        default = node(2, 1, "Default Category", 1, "")
        return {
            "id": 1,
            "parent_id": 0,
            "name": "Root Catalog",
            "is_active": True,
            "position": 0,
            "level": 0,
            "product_count": 0,
            "children_data": [default],
        }

    def by_id(self, entity_id: int) -> Product:
        return next(p for p in self.products.values() if p.entity_id == entity_id)

    def saleable(self) -> list[Product]:
        """What a shopper can put in a cart: everything visible and enabled, children via parents."""
        return [p for p in self.products.values() if p.visibility != 1 and p.status == 1]

    def line(self, sku: str, qty: int = 1, options: dict[int, str] | None = None) -> Line:
        """An order line for `sku` (a configurable child sku brings its parent along); `options`
        maps custom option ids to the raw value: text, or value ids (comma-joined for multiples)."""
        product = self.products[sku]
        chosen = options or {}
        by_id = {option.option_id: option for option in product.options}
        custom = [(oid, by_id[oid].title, value) for oid, value in chosen.items()]
        extra = sum(
            (self._option_price(by_id[oid], value) for oid, value in chosen.items()), Decimal("0")
        )
        types = {oid: by_id[oid].type for oid in chosen}
        if product.type_id == "bundle":
            parts = [
                BundlePart(p.entity_id, p.sku, p.name, 1, p.price)
                for p in (self.products[child] for child in product.children)
            ]
            price = sum((part.price * part.qty for part in parts), Decimal("0"))
            return Line(sku, product.name, product.entity_id, qty, price, custom, None,
                        option_types=types, bundle=parts)  # fmt: skip
        parent = None
        super_attributes: list[tuple[int, str, int, str]] = []
        if product.parent:
            top = self.products[product.parent]
            parent = (top.entity_id, top.sku, top.name)
            for code in ("color", "size"):
                attribute = self.attributes[code]
                value = product.attributes[code]
                super_attributes.append(
                    (attribute.attribute_id, attribute.label, value, attribute.label_of(value))
                )
        return Line(
            sku, product.name, product.entity_id, qty, product.price + extra, custom, parent,
            virtual=product.type_id == "virtual", option_types=types,
            super_attributes=super_attributes,
        )  # fmt: skip

    @staticmethod
    def _option_price(option: CustomOption, value: str) -> Decimal:
        if not option.selects:
            return option.price
        prices = {str(type_id): price for type_id, _, price in option.values}
        return sum((prices.get(v.strip(), Decimal("0")) for v in value.split(",")), Decimal("0"))

    def websites(self) -> list[dict[str, Any]]:
        """`GET /V1/store/websites`."""
        return [
            {"id": ident, "code": code, "name": name, "default_group_id": ident}
            for ident, code, name in WEBSITES
        ]

    def store_views(self) -> list[dict[str, Any]]:
        """`GET /V1/store/storeViews`."""
        return [
            {"id": ident, "code": code, "name": name, "website_id": website,
             "store_group_id": website, "is_active": 1}
            for ident, code, name, website in STORE_VIEWS
        ]  # fmt: skip

    def rest(
        self, product: Product, *, detail: bool = True, store_code: str | None = None
    ) -> dict[str, Any]:
        """`GET /V1/products/{sku}` of one product (`detail`), or its row on a search page, as
        the store view `store_code` sees it (its store-level values). Commerce lists every
        product in every store view's scope, whatever its websites (`website_ids` says)."""
        found = product.in_store(store_code).rest(self._ids, self.category_ids(), detail=detail)
        if product.type_id == "configurable":
            codes = ("color", "size")
            found["extension_attributes"]["configurable_product_options"] = [
                {
                    "id": n + 1,
                    "attribute_id": str(self.attributes[code].attribute_id),
                    "label": self.attributes[code].label,
                    "position": n,
                    "values": [
                        {"value_index": value}
                        for value in sorted(
                            {self.products[child].attributes[code] for child in product.children}
                        )
                    ],
                    "product_id": product.entity_id,
                }
                for n, code in enumerate(codes)
            ]
        return found

    def children_of(self, product: Product, store_code: str | None = None) -> list[dict[str, Any]]:
        """`GET /V1/configurable-products/{sku}/children`: a configurable product's children as
        products (their option values under `custom_attributes`); none for any other type."""
        if product.type_id != "configurable":
            return []
        return [
            self.rest(self.products[sku], detail=False, store_code=store_code)
            for sku in product.children
        ]

    def attribute_options(self, code: str) -> list[dict[str, Any]] | None:
        """`GET /V1/products/attributes/{code}/options`: Commerce lists an empty option first."""
        attribute = self.attributes.get(code)
        if attribute is None:
            return None
        return [{"label": " ", "value": ""}] + [
            {"label": label, "value": str(option_id)} for option_id, label in attribute.options
        ]
