"""Pure cart mapping: a Commerce quote save → `CartUpdated`."""

from __future__ import annotations

from datetime import datetime

from schemas.commerce.quotes import CommerceQuote, CommerceQuoteItem
from schemas.contract.carts import CartLine, CartUpdated
from schemas.contract.normalized import CustomOption
from schemas.email import normalize_email


def cart_updated(quote: CommerceQuote, *, event_id: str, occurred_at: datetime) -> CartUpdated:
    """Normalize a quote snapshot; an empty email is no email (a guest before payment), a
    malformed one raises `InvalidEmail`."""
    email = normalize_email(quote.customer_email) if quote.customer_email else None
    updated_at = quote.updated_at or quote.created_at or occurred_at
    discount = quote.discount_amount
    if discount is None and quote.subtotal_with_discount is not None:
        discount = quote.subtotal_with_discount - quote.subtotal
    return CartUpdated(
        event_id=event_id,
        occurred_at=occurred_at,
        quote_id=str(quote.entity_id),
        email=email,
        customer_id=quote.customer_id,
        is_guest=quote.customer_id is None,
        firstname=quote.customer_firstname,
        lastname=quote.customer_lastname,
        is_active=quote.is_active,
        reserved_order_id=quote.reserved_order_id,
        store_id=quote.store_id,
        currency=quote.quote_currency_code,
        items=_lines(quote.items),
        subtotal=quote.subtotal,
        tax_amount=quote.tax_amount,
        shipping_amount=quote.shipping_amount,
        discount_amount=discount,
        grand_total=quote.grand_total,
        created_at=quote.created_at or updated_at,
        updated_at=updated_at,
    )


def _lines(items: list[CommerceQuoteItem]) -> list[CartLine]:
    """Top-level rows as lines; a configurable takes its child's sku and product id."""
    ids = {item.item_id for item in items if item.item_id is not None}
    children: dict[int, CommerceQuoteItem] = {}
    for item in items:
        if item.parent_item_id is not None and item.parent_item_id in ids:
            children.setdefault(item.parent_item_id, item)
    lines = []
    for item in items:
        if item.parent_item_id is not None and item.parent_item_id in ids:
            continue
        child = children.get(item.item_id) if item.item_id is not None else None
        folded = child is not None and item.product_type == "configurable"
        lines.append(
            CartLine(
                item_id=item.item_id,
                sku=(child.sku if folded and child and child.sku else item.sku),
                name=item.name,
                product_id=child.product_id if folded and child else item.product_id,
                parent_product_id=item.product_id if folded else None,
                product_type=item.product_type,
                qty=item.qty,
                price=item.price,
                price_incl_tax=item.price_incl_tax,
                row_total=item.row_total,
                discount_amount=item.discount_amount,
                custom_options=[
                    CustomOption(
                        option_id=option.option_id,
                        value=option.value if option.value is not None else option.option_value,
                        label=option.label,
                        option_value=option.option_value,
                    )
                    for option in item.custom_options
                ],
            )
        )
    return lines
