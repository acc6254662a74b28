"""Synthetic sink load: the write commands the join emits for new orders, and realtime writes."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.dotdigital.bodies import ContactIdentity, InsightRecord
from schemas.dotdigital.commands import (
    ContactWrite,
    EnrolmentWrite,
    InsightWrite,
    Lane,
    WriteCommand,
)

ORDER_TEMPLATE: dict[str, Any] = {
    "quoteId": 501,
    "storeName": "Default Store View",
    "purchaseDate": "2026-11-26 09:00:00",
    "deliveryAddress": {"delivery_address_1": "1 Loom Lane", "delivery_city": "Leeds"},
    "billingAddress": {"billing_address_1": "1 Loom Lane", "billing_city": "Leeds"},
    "products": [
        {
            "product_id": 1401,
            "parent_id": 1400,
            "name": "Beaumont Summit Kit",
            "sku": "MJ01-S-Red",
            "qty": 2,
            "price": 42.0,
            "price_inc_tax": 50.4,
            "custom-options": [{"Engraving": "For Mum"}],
        },
        {"product_id": 1, "name": "Joust Duffle Bag", "sku": "24-MB01", "qty": 1, "price": 34.0},
    ],
    "orderSubtotal": 118.0,
    "discountAmount": -10.0,
    "orderTotal": 133.59,
    "payment": "checkmo",
    "deliveryMethod": "Flat Rate - Fixed",
    "deliveryTotal": 4.99,
    "currency": "GBP",
    "orderStatus": "pending",
    "orderState": "new",
    "fulfilled": False,
    "refundedAmount": 0.0,
    "netTotal": 133.59,
}


def batch_commands(orders: int, prefix: str = "buyer") -> list[tuple[bytes, bytes]]:
    """What the join emits for a new order: the contact's fields, then the Orders record."""
    now = datetime.now(UTC)
    messages: list[tuple[bytes, bytes]] = []
    for number in range(orders):
        email = f"{prefix}-{number}@bench.example.com"
        increment = f"9{number:08d}"
        contact = ContactWrite(
            email=email,
            data_fields={"FIRSTNAME": "Bench", "ORDER_COUNT": 1, "LAST_ORDER_ID": increment},
            source_event_id=f"bench-{number}",
            issued_at=now,
        )
        document = copy.copy(ORDER_TEMPLATE)
        document.update({"id": increment, "email": email})
        record = InsightWrite(
            email=email,
            collection="Orders",
            collection_type="orders",
            record=InsightRecord(
                key=increment,
                contact_identity=ContactIdentity(value=email),
                json_=document,
            ),
            subject=f"order {increment}",
            source_event_id=f"bench-{number}",
            issued_at=now,
        )
        for command in (contact, record):
            value = orjson.dumps(
                WriteCommand(command=command).model_dump(mode="json", by_alias=True)
            )
            messages.append((email.encode(), value))
    return messages


def realtime_command(number: int, prefix: str = "rt") -> tuple[bytes, bytes]:
    email = f"{prefix}-{number}@bench.example.com"
    command = ContactWrite(
        lane=Lane.REALTIME,
        email=email,
        data_fields={"RT_SENT_AT": time.time()},
        source_event_id=f"rt-{number}",
        issued_at=datetime.now(UTC),
    )
    value = orjson.dumps(WriteCommand(command=command).model_dump(mode="json", by_alias=True))
    return email.encode(), value


CART_PROGRAM = 7  # the abandoned-cart program the benchmark's sandbox account has active
STORE_URL = "https://luma.example.com"


def _encode(command: ContactWrite | InsightWrite | EnrolmentWrite) -> bytes:
    return orjson.dumps(WriteCommand(command=command).model_dump(mode="json", by_alias=True))


def cart_trigger(
    number: int, program_id: int = CART_PROGRAM, prefix: str = "cart"
) -> tuple[str, list[bytes]]:
    """What a fired abandoned cart puts on the realtime lane, in order, under its email: the
    contact, its `CartInsight` record (ORDER_PENDING) and the enrolment."""
    email = f"{prefix}-{number}@bench.example.com"
    quote = 700_000 + number
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    source = f"cart-{quote}-{int(now.timestamp())}"
    document = {
        "cartId": str(quote),
        "cartUrl": f"{STORE_URL}/checkout/cart/?quote={quote}",
        "createdDate": stamp,
        "modifiedDate": stamp,
        "currency": "GBP",
        "subTotal": 84.0,
        "taxAmount": 16.8,
        "shipping": 0.0,
        "grandTotal": 100.8,
        "discountAmount": 0.0,
        "lineItems": [
            {
                "sku": "MJ01-S-Red",
                "name": "Beaumont Summit Kit",
                "imageUrl": f"{STORE_URL}/media/catalog/product/m/j/mj01-red_main.jpg",
                "productUrl": f"{STORE_URL}/mj01.html",
                "unitPrice": 42.0,
                "quantity": 2,
                "salePrice": 42.0,
                "totalPrice": 84.0,
            }
        ],
        "cartPhase": "ORDER_PENDING",
    }
    commands: list[ContactWrite | InsightWrite | EnrolmentWrite] = [
        ContactWrite(
            lane=Lane.REALTIME,
            email=email,
            data_fields={"FIRSTNAME": "Bench"},
            source_event_id=source,
            issued_at=now,
        ),
        InsightWrite(
            lane=Lane.REALTIME,
            email=email,
            collection="CartInsight",
            collection_type="cartInsight",
            record=InsightRecord(
                key=str(quote), contact_identity=ContactIdentity(value=email), json_=document
            ),
            subject=f"cart {quote}",
            source_event_id=source,
            issued_at=now,
        ),
        EnrolmentWrite(
            lane=Lane.REALTIME,
            email=email,
            program_id=program_id,
            trigger="abandoned_cart",
            subject=f"abandoned cart {quote}",
            source_event_id=source,
            issued_at=now,
        ),
    ]
    return email, [_encode(command) for command in commands]
