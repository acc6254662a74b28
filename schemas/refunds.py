"""Credit memos: the inbound payload, the normalized `RefundRecorded`, and the `Refunds` record."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import AwareDatetime, Field

from schemas.commerce import Amount, CommercePayload, Id, OptionalId, OptionalInt, Text, Timestamp
from schemas.dotdigital import ContactIdentity, InsightRecord
from schemas.normalized import NormalizedEvent

REFUNDS_COLLECTION = "Refunds"
_CENT = Decimal("0.01")
# Commerce's credit memo states.
CREDITMEMO_STATES = {1: "open", 2: "refunded", 3: "canceled"}


class CommerceCreditmemoItem(CommercePayload):
    """One refunded line of a credit memo."""

    order_item_id: OptionalId = None
    sku: Text = None
    name: Text = None
    qty: Amount = Decimal(0)
    row_total: Amount = Decimal(0)
    price: Amount = Decimal(0)


class CommerceCreditmemo(CommercePayload):
    """A credit memo as its save event (or `/V1/creditmemos`) carries it."""

    entity_id: Id
    order_id: Id
    increment_id: Text = None
    grand_total: Amount = Decimal(0)
    subtotal: Amount = Decimal(0)
    adjustment: Amount = Decimal(0)
    adjustment_positive: Amount = Decimal(0)
    adjustment_negative: Amount = Decimal(0)
    shipping_amount: Amount = Decimal(0)
    state: OptionalInt = None
    order_currency_code: Text = None
    items: list[CommerceCreditmemoItem] = Field(default_factory=list)
    created_at: Timestamp = None
    updated_at: Timestamp = None

    @property
    def counts(self) -> bool:
        """A canceled credit memo refunds nothing."""
        return self.state != 3


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


def refund_recorded(
    memo: CommerceCreditmemo,
    *,
    email: str,
    order_increment_id: str,
    currency: str | None,
    event_id: str,
    occurred_at: datetime,
) -> RefundRecorded:
    """Normalize a credit memo for an order whose buyer is known."""
    return RefundRecorded(
        event_id=event_id,
        occurred_at=occurred_at,
        email=email,
        order_entity_id=memo.order_id,
        order_increment_id=order_increment_id,
        creditmemo_entity_id=memo.entity_id,
        increment_id=memo.increment_id or str(memo.entity_id),
        amount=memo.grand_total,
        adjustment=memo.adjustment,
        shipping_amount=memo.shipping_amount,
        currency=memo.order_currency_code or currency,
        state=CREDITMEMO_STATES.get(memo.state or 2, "refunded"),
        refunded_at=memo.created_at or occurred_at,
        lines=[
            RefundedLine(
                order_item_id=item.order_item_id,
                sku=item.sku,
                name=item.name,
                qty=item.qty,
                row_total=item.row_total,
            )
            for item in memo.items
        ],
    )


def _money(amount: Decimal) -> float:
    return float(amount.quantize(_CENT, rounding=ROUND_HALF_UP))


def _qty(qty: Decimal) -> int | float:
    return int(qty) if qty == qty.to_integral_value() else float(qty)


def refunds_record(refund: RefundRecorded) -> InsightRecord:
    """The contact-scoped `Refunds` record, keyed by the credit memo's increment id."""
    document: dict[str, Any] = {
        "id": refund.increment_id,
        "orderId": refund.order_increment_id,
        "email": refund.email,
        "amount": _money(refund.amount),
        "adjustment": _money(refund.adjustment),
        "shippingAmount": _money(refund.shipping_amount),
        "refundDate": refund.refunded_at.strftime("%Y-%m-%d %H:%M:%S"),
        "state": refund.state,
        "items": [
            {
                key: value
                for key, value in {
                    "sku": line.sku,
                    "name": line.name,
                    "qty": _qty(line.qty),
                    "rowTotal": _money(line.row_total),
                }.items()
                if value is not None
            }
            for line in refund.lines
        ],
    }
    if refund.currency:
        document["currency"] = refund.currency
    return InsightRecord(
        key=refund.increment_id,
        contact_identity=ContactIdentity(value=refund.email),
        json_=document,
    )
