"""The normalized product on `commerce.products.v1`: a resolved product's mapped attributes, as
labels, and which of them Orders lines carry (key: SKU; compacted, the latest per SKU counts)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from schemas.catalogue.mapping import CatalogueMapping
from schemas.catalogue.product import CatalogueProduct
from schemas.contract.normalized import SCHEMA_VERSION, ContractModel


class ProductUpdated(ContractModel):
    """`commerce.products.v1` (key: SKU): one product as the catalogue sync last resolved it."""

    schema_version: int = SCHEMA_VERSION
    sku: str
    product_id: int
    name: str
    enabled: bool
    attributes: dict[str, str] = Field(
        default_factory=dict,
        description="every mapped attribute the product has: Commerce code → label",
    )
    line_codes: tuple[str, ...] = Field(
        default=(), description="the codes Orders lines carry (the mapping's [orders] lines)"
    )
    updated_at: AwareDatetime | None = Field(
        default=None, description="Commerce's `updated_at` of the product read"
    )
    synced_at: AwareDatetime

    @property
    def line_attributes(self) -> dict[str, str]:
        """What an Orders line of this SKU carries as `product_attributes`."""
        return {code: self.attributes[code] for code in self.line_codes if code in self.attributes}


def product_updated(
    product: CatalogueProduct, mapping: CatalogueMapping, synced_at: AwareDatetime
) -> ProductUpdated:
    """A resolved product as the products topic carries it: only the mapped attributes."""
    return ProductUpdated(
        sku=product.sku,
        product_id=product.id,
        name=product.name,
        enabled=product.enabled,
        attributes={
            code: label for code, label in product.attributes.items() if code in mapping.fields
        },
        line_codes=mapping.line_codes,
        updated_at=product.updated_at,
        synced_at=synced_at,
    )
