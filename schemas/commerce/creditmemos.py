"""Commerce credit memos (partial or full refunds) as their save events (or REST) carry them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator

from schemas.commerce.payload import (
    Amount,
    CommercePayload,
    Id,
    OptionalId,
    OptionalInt,
    Quantity,
    Text,
    Timestamp,
    Total,
    as_list,
)


class CommerceCreditmemoItem(CommercePayload):
    """One refunded line of a credit memo."""

    order_item_id: OptionalId = None
    sku: Text = None
    name: Text = None
    qty: Quantity = Decimal(0)
    row_total: Amount = Decimal(0)
    price: Amount = Decimal(0)


class CommerceCreditmemo(CommercePayload):
    """A credit memo as its save event (or `/V1/creditmemos`) carries it."""

    entity_id: Id
    order_id: Id
    increment_id: Text = None
    grand_total: Total = Decimal(0)
    subtotal: Total = Decimal(0)
    adjustment: Amount = Decimal(0)
    adjustment_positive: Amount = Decimal(0)
    adjustment_negative: Amount = Decimal(0)
    shipping_amount: Amount = Decimal(0)
    state: OptionalInt = None
    order_currency_code: Text = None
    items: list[CommerceCreditmemoItem] = Field(default_factory=list)
    created_at: Timestamp = None
    updated_at: Timestamp = None

    @field_validator("items", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return as_list(value)

    @property
    def counts(self) -> bool:
        """A canceled credit memo refunds nothing."""
        return self.state != 3
