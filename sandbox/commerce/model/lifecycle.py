"""What each sales operation does to an order and which state Commerce's resolver leaves it in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from sandbox.commerce.model.documents import CreditMemo, DocumentItem, Shipment
from sandbox.commerce.model.lines import Line
from sandbox.commerce.model.orders import ZERO, Order
from sandbox.commerce.model.wire import money

STATUS_OF_STATE = {
    "new": "pending",
    "pending_payment": "pending_payment",
    "processing": "processing",
    "complete": "complete",
    "closed": "closed",
    "canceled": "canceled",
    "holded": "holded",
}


class LifecycleError(ValueError):
    """Commerce refuses the operation in the order's current state."""


def _set_state(order: Order, state: str, at: datetime, comment: str = "") -> None:
    order.state, order.status = state, STATUS_OF_STATE[state]
    order.updated_at = at
    if comment:
        order.history.append((at, order.status, comment))


def paid(order: Order) -> Decimal:
    return order.total_invoiced or ZERO


def refunded(order: Order) -> Decimal:
    return order.total_refunded or ZERO


def can_invoice(order: Order) -> bool:
    blocked = order.state in ("canceled", "holded", "closed", "complete", "payment_review")
    return not blocked and any(line.to_invoice > 0 for line in order.lines)


def can_ship(order: Order) -> bool:
    return order.state not in ("canceled", "holded") and any(
        line.to_ship > 0 for line in order.lines
    )


def can_creditmemo(order: Order) -> bool:
    blocked = order.state in ("canceled", "holded", "closed")
    return not blocked and paid(order) - refunded(order) > 0


def can_cancel(order: Order) -> bool:
    return order.state not in ("holded", "payment_review") and can_invoice(order)


def resolve(order: Order, at: datetime) -> None:
    """Commerce's state resolver, run after an invoice, shipment, refund or cancel."""
    if order.state in ("canceled", "holded") or any(line.to_invoice > 0 for line in order.lines):
        return
    if not can_creditmemo(order) and not can_ship(order):
        _set_state(order, "closed", at)
    elif not can_ship(order):
        _set_state(order, "complete", at)
    else:
        _set_state(order, "processing", at)


def _pick(
    order: Order, wanted: Mapping[str, int] | None, available: Callable[[Line], int], what: str
) -> list[tuple[int, int]]:
    """(line index, qty) to act on: `wanted` by sku, or everything still available."""
    picked: list[tuple[int, int]] = []
    if wanted is None:
        picked = [(i, available(line)) for i, line in enumerate(order.lines) if available(line)]
    for sku, qty in (wanted or {}).items():
        left = qty
        for index, line in enumerate(order.lines):
            take = min(left, available(line)) if line.sku == sku else 0
            if take > 0:
                picked.append((index, take))
                left -= take
        if left > 0:
            raise LifecycleError(f"cannot {what} {qty} of {sku} on order {order.increment_id}")
    if not picked:
        raise LifecycleError(f"nothing to {what} on order {order.increment_id}")
    return sorted(picked)


def invoice(order: Order, items: Mapping[str, int] | None, at: datetime) -> Decimal:
    """Invoice (and capture) some or all of what is left; the order moves to processing."""
    if not can_invoice(order):
        raise LifecycleError(f"order {order.increment_id} cannot be invoiced ({order.state})")
    units = order.unit_amounts()
    amount = ZERO if order.total_invoiced is not None else order.shipping
    for index, qty in _pick(order, items, lambda line: line.to_invoice, "invoice"):
        order.lines[index].invoiced += qty
        amount += money(units[index] * qty)
    if not any(line.to_invoice > 0 for line in order.lines):
        amount = order.grand_total - paid(order)  # the last invoice takes the rounding
    order.total_invoiced = paid(order) + amount
    _set_state(order, "processing", at, "Captured amount offline.")
    resolve(order, at)
    return amount


def _document_items(
    order: Order, picked: list[tuple[int, int]], children: bool
) -> list[DocumentItem]:
    """Document rows: top rows, or for bundles (`children`) the part rows under their parent."""
    rows = order.row_ids()
    items = []
    for index, qty in picked:
        line = order.lines[index]
        top, child_ids = rows[index]
        if children and line.bundle:
            for part, child_id in zip(line.bundle, child_ids, strict=True):
                items.append(
                    DocumentItem(child_id, part.product_id, part.sku, part.name,
                                 part.qty * qty, part.price)
                )  # fmt: skip
            continue
        product_id = line.parent[0] if line.parent else line.product_id
        items.append(DocumentItem(top, product_id, line.sku, line.name, qty, line.price))
    return items


def ship(
    order: Order,
    items: Mapping[str, int] | None,
    *,
    shipment_id: int,
    increment_id: str,
    at: datetime,
    track: str | None,
) -> Shipment:
    """Ship some or all of what is left (bundle parts ship separately, as child rows)."""
    if not can_ship(order):
        raise LifecycleError(f"order {order.increment_id} cannot be shipped ({order.state})")
    picked = _pick(order, items, lambda line: line.to_ship, "ship")
    for index, qty in picked:
        order.lines[index].shipped += qty
    shipment = Shipment(
        shipment_id, increment_id, order.entity_id, order.customer_id,
        _document_items(order, picked, children=True), at, at,
        [(track, "ups", at)] if track else [],
    )  # fmt: skip
    if order.state == "new":
        _set_state(order, "processing", at)
    order.updated_at = at
    resolve(order, at)
    return shipment


def refund(
    order: Order,
    items: Mapping[str, int] | None,
    *,
    amount: Decimal | None,
    adjustment_negative: Decimal,
    creditmemo_id: int,
    increment_id: str,
    at: datetime,
) -> CreditMemo:
    """A credit memo for invoiced items (all that is refundable when neither `items` nor `amount`
    is given) and/or an adjustment `amount`; fully refunded with nothing to ship closes the order."""
    if not can_creditmemo(order):
        raise LifecycleError(f"order {order.increment_id} cannot be refunded ({order.state})")
    picked: list[tuple[int, int]] = []
    if items is not None or amount is None:
        picked = _pick(order, items, lambda line: line.to_refund, "refund")
    taxes, discounts = order.shares(order.tax), order.shares(order.discount)
    subtotal = tax = discount = ZERO
    for index, qty in picked:
        line = order.lines[index]
        subtotal += line.price * qty
        tax += money(taxes[index] * qty / line.qty)
        discount += money(discounts[index] * qty / line.qty)
    for index, qty in picked:
        order.lines[index].refunded += qty
    everything = all(line.to_refund == 0 for line in order.lines) and picked
    shipping = order.shipping - order.shipping_refunded if everything else ZERO
    memo = CreditMemo(
        creditmemo_id, increment_id, order.entity_id,
        _document_items(order, picked, children=False), subtotal, tax, shipping, discount,
        amount or ZERO, adjustment_negative, at, order.currency,
    )  # fmt: skip
    available = paid(order) - refunded(order)
    if everything and not order.adjustment_positive and amount is None:
        memo.tax += available - memo.grand_total  # the last refund takes the rounding
    if memo.grand_total > available or memo.grand_total <= 0:
        for index, qty in picked:
            order.lines[index].refunded -= qty
        raise LifecycleError(f"the most money available to refund is {available}")
    order.total_refunded = refunded(order) + memo.grand_total
    order.shipping_refunded += shipping
    order.adjustment_positive += memo.adjustment_positive
    order.adjustment_negative += adjustment_negative
    order.updated_at = at
    resolve(order, at)
    return memo


def cancel(order: Order, at: datetime) -> None:
    """Cancel what was not invoiced; an order with invoiced items stays processing or complete."""
    if not can_cancel(order):
        raise LifecycleError(f"order {order.increment_id} cannot be canceled ({order.state})")
    for line in order.lines:
        line.canceled = line.qty - line.invoiced
    order.total_canceled = order.grand_total - paid(order)
    if order.total_invoiced is None:
        _set_state(order, "canceled", at, "Order canceled.")
    else:
        order.updated_at = at
        resolve(order, at)


def hold(order: Order, at: datetime) -> None:
    if order.state in ("canceled", "payment_review", "complete", "closed", "holded"):
        raise LifecycleError(f"order {order.increment_id} cannot be held ({order.state})")
    order.hold_before = (order.state, order.status)
    _set_state(order, "holded", at, "Order held.")


def unhold(order: Order, at: datetime) -> None:
    if order.state != "holded" or order.hold_before is None:
        raise LifecycleError(f"order {order.increment_id} is not on hold")
    order.state, order.status = order.hold_before
    order.hold_before = None
    order.updated_at = at
    order.history.append((at, order.status, "Order released from hold."))
