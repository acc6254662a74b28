"""A Commerce credit memo → the normalized `RefundRecorded`."""

from __future__ import annotations

from datetime import datetime

from schemas.commerce.creditmemos import CommerceCreditmemo
from schemas.contract.refunds import RefundedLine, RefundRecorded

# Commerce's credit memo states.
CREDITMEMO_STATES = {1: "open", 2: "refunded", 3: "canceled"}


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
