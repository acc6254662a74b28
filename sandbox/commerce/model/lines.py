"""One line of an order or cart: the product, its options, and its fulfilment counters."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class BundlePart:
    """One product inside a bundle line (dynamic price: the parts carry the prices)."""

    product_id: int
    sku: str
    name: str
    qty: int
    price: Decimal


@dataclass
class Line:
    """One product on an order, with how much of it was invoiced, shipped, refunded, canceled."""

    sku: str
    name: str
    product_id: int
    qty: int
    price: Decimal
    custom_options: list[tuple[int, str, str]] = field(default_factory=list)  # id, title, value
    parent: tuple[int, str, str] | None = None  # configurable parent: (product id, sku, name)
    virtual: bool = False
    option_types: dict[int, str] = field(default_factory=dict)  # option id -> field, drop_down…
    super_attributes: list[tuple[int, str, int, str]] = field(default_factory=list)
    bundle: list[BundlePart] = field(default_factory=list)
    invoiced: int = 0
    shipped: int = 0
    refunded: int = 0
    canceled: int = 0

    @property
    def row_total(self) -> Decimal:
        return self.price * self.qty

    @property
    def to_invoice(self) -> int:
        return self.qty - self.invoiced - self.canceled

    @property
    def to_ship(self) -> int:
        return 0 if self.virtual else self.qty - self.shipped - self.refunded - self.canceled

    @property
    def to_refund(self) -> int:
        return self.invoiced - self.refunded

    def fresh(self) -> Line:
        """The same product and options, nothing invoiced, shipped, refunded or canceled yet."""
        return replace(self, invoiced=0, shipped=0, refunded=0, canceled=0)

    def product_type(self) -> str:
        if self.bundle:
            return "bundle"
        if self.parent:
            return "configurable"
        return "virtual" if self.virtual else "simple"

    def options(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """`product_option` (REST shape: ids only) and `product_options` (what the shopper saw:
        text options with their title; select values stay ids, resolved through the catalogue)."""
        extension: dict[str, Any] = {}
        if self.custom_options:
            extension["custom_options"] = [
                {"option_id": str(option_id), "option_value": value}
                for option_id, _, value in self.custom_options
            ]
        if self.super_attributes:
            extension["configurable_item_options"] = [
                {"option_id": str(attribute_id), "option_value": value_id}
                for attribute_id, _, value_id, _ in self.super_attributes
            ]
        shown: dict[str, Any] = {}
        texts = [
            {"label": title, "value": value, "print_value": value, "option_id": option_id}
            for option_id, title, value in self.custom_options
            if self.option_types.get(option_id, "field") in ("field", "area")
        ]
        if texts:
            shown["options"] = texts
        if self.super_attributes:
            shown["attributes_info"] = [
                {"label": label, "value": value, "option_id": aid, "option_value": vid}
                for aid, label, vid, value in self.super_attributes
            ]
            shown["simple_sku"] = self.sku
        return ({"extension_attributes": extension} if extension else {}), shown
