"""Normalized `RefundRecorded` → the contact-scoped `Refunds` insight record Dotdigital keeps."""

from __future__ import annotations

from typing import Any

from schemas.contract.refunds import RefundRecorded
from schemas.dotdigital.amounts import money, quantity
from schemas.dotdigital.bodies import ContactIdentity, InsightRecord, compact

REFUNDS_COLLECTION = "Refunds"


def refunds_record(refund: RefundRecorded) -> InsightRecord:
    """The contact-scoped `Refunds` record, keyed by the credit memo's increment id."""
    document: dict[str, Any] = {
        "id": refund.increment_id,
        "orderId": refund.order_increment_id,
        "email": refund.email,
        "amount": money(refund.amount),
        "adjustment": money(refund.adjustment),
        "shippingAmount": money(refund.shipping_amount),
        "refundDate": refund.refunded_at.strftime("%Y-%m-%d %H:%M:%S"),
        "state": refund.state,
        "items": [
            compact(
                {
                    "sku": line.sku,
                    "name": line.name,
                    "qty": quantity(line.qty),
                    "rowTotal": money(line.row_total),
                }
            )
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
