"""The normalized refund on `commerce.refunds.v1`: one credit memo, partial or full."""

from __future__ import annotations

from decimal import Decimal

from pydantic import AwareDatetime, Field

from schemas.commerce.payload import CommercePayload
from schemas.contract.normalized import NormalizedEvent


class RefundedLine(CommercePayload):
    """A refunded line in the normalized contract."""

    order_item_id: int | None = None
    sku: str | None = None
    name: str | None = None
    qty: Decimal = Decimal(0)
    row_total: Decimal = Decimal(0)


class RefundRecorded(NormalizedEvent):
    """`commerce.refunds.v1` (key: normalized email): one credit memo, partial or full."""

    email: str
    order_entity_id: int
    order_increment_id: str
    creditmemo_entity_id: int
    increment_id: str
    amount: Decimal
    adjustment: Decimal = Decimal(0)
    shipping_amount: Decimal = Decimal(0)
    currency: str | None = None
    state: str = "refunded"
    refunded_at: AwareDatetime
    lines: list[RefundedLine] = Field(default_factory=list)
