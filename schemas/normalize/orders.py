"""Commerce order + shipments → the normalized `OrderUpdated`: lines, addresses, fulfilment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from schemas.commerce.orders import (
    CommerceAddress,
    CommerceCustomOption,
    CommerceOrder,
    CommerceOrderItem,
    CommerceShipment,
)
from schemas.contract.normalized import Address, CustomOption, NormalizedLine, OrderUpdated
from schemas.email import normalize_email


def order_updated(
    order: CommerceOrder,
    shipments: Iterable[CommerceShipment],
    *,
    event_id: str,
    occurred_at: datetime,
) -> OrderUpdated:
    """Normalize an order snapshot and fold in the shipments seen for it, in any order."""
    email = normalize_email(order.customer_email)
    lines = _lines(order.items, _shipped_by_line(order, shipments))
    billing = order.billing_address
    updated_at = order.updated_at or order.created_at or occurred_at
    return OrderUpdated(
        event_id=event_id,
        occurred_at=occurred_at,
        email=email,
        entity_id=order.entity_id,
        increment_id=order.increment_id,
        state=order.state,
        status=order.status,
        customer_id=order.customer_id,
        is_guest=order.customer_is_guest or order.customer_id is None,
        firstname=order.customer_firstname or (billing.firstname if billing else None),
        lastname=order.customer_lastname or (billing.lastname if billing else None),
        store_id=order.store_id,
        store_name=_store_view_name(order.store_name),
        quote_id=order.quote_id,
        currency=order.order_currency_code,
        subtotal=order.subtotal,
        discount_amount=order.discount_amount,
        shipping_amount=order.shipping_amount,
        tax_amount=order.tax_amount,
        grand_total=order.grand_total,
        total_refunded=order.total_refunded,
        payment_method=order.payment.method if order.payment else None,
        payment_title=order.payment.title if order.payment else None,
        shipping_method=order.shipping_method,
        shipping_description=order.shipping_description,
        coupon_code=order.coupon_code,
        placed_at=order.created_at or updated_at,
        updated_at=updated_at,
        billing_address=_address(order.billing_address),
        delivery_address=_address(order.shipping_address),
        lines=lines,
        shipped={item: qty for item, qty in _shipped_per_line(lines).items() if qty > 0},
        fulfilled=_fulfilled(order.state, lines),
        relation_parent_id=order.relation_parent_id,
        original_increment_id=order.original_increment_id,
    )


def _store_view_name(store_name: str | None) -> str | None:
    """Commerce stores "Website\\nStore\\nStore View"; the store view is the shopper's store."""
    if not store_name:
        return None
    views = [line.strip() for line in store_name.splitlines() if line.strip()]
    return views[-1] if views else None


def _address(address: CommerceAddress | None) -> Address | None:
    if address is None:
        return None
    return Address(
        firstname=address.firstname,
        lastname=address.lastname,
        company=address.company,
        street=address.street,
        city=address.city,
        region=address.region or address.region_code,
        postcode=address.postcode,
        country=address.country_id,
        telephone=address.telephone,
    )


def _line_owners(items: list[CommerceOrderItem]) -> dict[int, int]:
    """Order item id → the line its shipments count for: a configurable's child → the parent."""
    by_id = {item.item_id: item for item in items}
    owners = {}
    for item in items:
        parent = by_id.get(item.parent_item_id or 0)
        folded = parent is not None and parent.product_type == "configurable"
        owners[item.item_id] = parent.item_id if parent is not None and folded else item.item_id
    return owners


def _shipped_by_line(
    order: CommerceOrder, shipments: Iterable[CommerceShipment]
) -> dict[int, Decimal]:
    """Qty shipped per line: the larger of the order's own counters and its distinct shipments."""
    owners = _line_owners(order.items)
    latest: dict[tuple[str, object], CommerceShipment] = {}
    for position, shipment in enumerate(shipments):
        if shipment.order_id != order.entity_id:
            continue
        # A shipment is saved again (tracking added) and events repeat: count each shipment once.
        key: tuple[str, object] = (
            ("entity", shipment.entity_id)
            if shipment.entity_id is not None
            else ("increment", shipment.increment_id)
            if shipment.increment_id
            else ("position", position)
        )
        seen = latest.get(key)
        if seen is None or _saved_at(shipment) >= _saved_at(seen):
            latest[key] = shipment
    from_shipments: dict[int, Decimal] = {}
    for shipment in latest.values():
        for shipped in shipment.items:
            owner = owners.get(shipped.order_item_id)
            if owner is not None:
                from_shipments[owner] = from_shipments.get(owner, Decimal(0)) + shipped.qty
    counters: dict[int, Decimal] = {}
    for item in order.items:
        owner = owners[item.item_id]
        counters[owner] = max(counters.get(owner, Decimal(0)), item.qty_shipped)
    return {
        owner: max(counter, from_shipments.get(owner, Decimal(0)))
        for owner, counter in counters.items()
    }


def _saved_at(shipment: CommerceShipment) -> datetime:
    return shipment.updated_at or shipment.created_at or datetime.min.replace(tzinfo=UTC)


def _lines(items: list[CommerceOrderItem], shipped: Mapping[int, Decimal]) -> list[NormalizedLine]:
    ids = {item.item_id for item in items}
    children: dict[int, list[CommerceOrderItem]] = {}
    for item in items:
        if item.parent_item_id is not None and item.parent_item_id in ids:
            children.setdefault(item.parent_item_id, []).append(item)
    lines = []
    for item in items:
        if item.parent_item_id is not None and item.parent_item_id in ids:
            continue
        kids = children.get(item.item_id, [])
        if item.product_type == "configurable" and kids:
            lines.append(_configurable_line(item, kids[0], shipped))
        else:
            nested = [_line(kid, shipped, parent=item) for kid in kids]
            lines.append(_line(item, shipped, children=nested))
    return lines


def _line(
    item: CommerceOrderItem,
    shipped: Mapping[int, Decimal],
    *,
    parent: CommerceOrderItem | None = None,
    children: list[NormalizedLine] | None = None,
) -> NormalizedLine:
    """A line; custom options belong to top-level lines only, as in Commerce."""
    return NormalizedLine(
        item_id=item.item_id,
        product_id=item.product_id,
        parent_product_id=parent.product_id if parent else None,
        sku=item.sku,
        name=item.name,
        product_type=item.product_type,
        qty=item.qty_ordered,
        qty_shipped=shipped.get(item.item_id, Decimal(0)),
        qty_refunded=item.qty_refunded,
        qty_canceled=item.qty_canceled,
        price=item.price,
        price_incl_tax=item.price_incl_tax,
        row_total=item.row_total,
        discount_amount=item.discount_amount,
        is_virtual=item.is_virtual,
        custom_options=[] if parent else _options(item.custom_options),
        children=children or [],
    )


def _configurable_line(
    parent: CommerceOrderItem, child: CommerceOrderItem, shipped: Mapping[int, Decimal]
) -> NormalizedLine:
    """The parent row holds price and options, the child row the product actually bought."""
    return _line(parent, shipped).model_copy(
        update={
            "product_id": child.product_id,
            "parent_product_id": parent.product_id,
            "sku": child.sku or parent.sku,
        }
    )


def _options(options: list[CommerceCustomOption]) -> list[CustomOption]:
    return [
        CustomOption(
            option_id=option.option_id,
            value=option.value if option.value is not None else option.option_value,
            label=option.label,
            option_value=option.option_value,
        )
        for option in options
    ]


def _shipped_per_line(lines: list[NormalizedLine]) -> dict[int, Decimal]:
    shipped: dict[int, Decimal] = {}
    for line in lines:
        shipped[line.item_id] = line.qty_shipped
        shipped.update(_shipped_per_line(line.children))
    return shipped


def _fulfilled(state: str | None, lines: list[NormalizedLine]) -> bool:
    """Confirmed by state `complete`, or by every physical line shipped; never when cancelled."""
    if state == "canceled":
        return False
    if state == "complete":
        return True
    physical = [line for line in lines if not line.is_virtual]
    # Shipped is fulfilled; refunded before shipping is not (nothing reached the customer).
    return (
        bool(physical)
        and any(line.anything_shipped for line in physical)
        and all(line.fully_shipped for line in physical)
    )
