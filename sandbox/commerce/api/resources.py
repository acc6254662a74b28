"""What each REST collection lists: its rows in primary-key order, their columns, their JSON."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sandbox.commerce.model.carts import Quote
from sandbox.commerce.model.customers import Customer
from sandbox.commerce.model.documents import CreditMemo, Shipment
from sandbox.commerce.model.orders import Order
from sandbox.commerce.model.products import Attribute, Product
from sandbox.commerce.model.wire import commerce_time, rest
from sandbox.commerce.simulator.store import Store

T = TypeVar("T")


@dataclass(frozen=True)
class Collection(Generic[T]):
    """A searchable collection: `columns` are what filters and sorts see (the table's columns),
    `render` is what an item of the response holds (rendered only for the page); `in_store`,
    when set, renders it as the request's store view sees it (store-level values)."""

    rows: Callable[[Store], list[T]]
    columns: Callable[[Store, T], Mapping[str, Any]]
    render: Callable[[Store, T], dict[str, Any]]
    in_store: Callable[[Store, T, str], dict[str, Any]] | None = None


def _by_key(rows: Mapping[Any, T]) -> list[T]:
    return [rows[key] for key in sorted(rows)]


_ORDER_COLUMNS: dict[int, tuple[weakref.ref[Order], int, dict[str, Any]]] = {}


def order_columns(_: Store, order: Order) -> dict[str, Any]:
    """The `sales_order` columns, re-read only after a save (a backfill pages through many
    thousands of orders)."""
    cached = _ORDER_COLUMNS.get(id(order))
    if cached is not None and cached[0]() is order and cached[1] == order.revision:
        return cached[2]
    columns = _order_columns(order)
    _ORDER_COLUMNS[id(order)] = (weakref.ref(order, _forget(id(order))), order.revision, columns)
    return columns


def _forget(key: int) -> Callable[[object], None]:
    def forget(_: object) -> None:
        _ORDER_COLUMNS.pop(key, None)

    return forget


def _order_columns(order: Order) -> dict[str, Any]:
    return {
        "entity_id": order.entity_id,
        "increment_id": order.increment_id,
        "state": order.state,
        "status": order.status,
        "customer_email": order.email,
        "customer_id": order.customer_id,
        "customer_is_guest": int(order.guest),
        "customer_firstname": order.firstname,
        "customer_lastname": order.lastname,
        "store_id": 1,
        "quote_id": order.quote_id,
        "grand_total": order.grand_total,
        "base_grand_total": order.grand_total,
        "total_invoiced": order.total_invoiced,
        "total_refunded": order.total_refunded,
        "coupon_code": order.coupon,
        "relation_parent_id": order.relation_parent_id,
        "original_increment_id": order.original_increment_id,
        "created_at": commerce_time(order.created_at),
        "updated_at": commerce_time(order.updated_at or order.created_at),
    }


def _customer_json(store: Store, customer: Customer) -> dict[str, Any]:
    return dict(rest(customer.rest(store.is_subscribed(customer))))


def _customer_columns(store: Store, customer: Customer) -> dict[str, Any]:
    columns = _customer_json(store, customer)
    columns["entity_id"] = customer.id
    return columns


def _product_columns(store: Store, product: Product) -> dict[str, Any]:
    return {**rest(product.record()), "id": product.entity_id}


def _quote_columns(_: Store, quote: Quote) -> dict[str, Any]:
    return {**rest(quote.record()), "id": quote.entity_id}


def _document_json(_: Store, document: Shipment | CreditMemo) -> dict[str, Any]:
    return dict(rest(document.record()))


ORDERS: Collection[Order] = Collection(
    lambda store: _by_key(store.orders), order_columns, lambda _, order: order.rest()
)
CREDITMEMOS: Collection[CreditMemo] = Collection(
    lambda store: _by_key(store.creditmemos), _document_json, _document_json
)
SHIPMENTS: Collection[Shipment] = Collection(
    lambda store: _by_key(store.shipments), _document_json, _document_json
)
CUSTOMERS: Collection[Customer] = Collection(
    lambda store: _by_key(store.customers), _customer_columns, _customer_json
)
CARTS: Collection[Quote] = Collection(
    lambda store: _by_key(store.quotes), _quote_columns, lambda _, quote: dict(rest(quote.rest()))
)
PRODUCTS: Collection[Product] = Collection(
    lambda store: sorted(store.catalogue.products.values(), key=lambda p: p.entity_id),
    _product_columns,
    lambda store, product: dict(rest(store.catalogue.rest(product, detail=False))),
    lambda store, product, code: dict(
        rest(store.catalogue.rest(product, detail=False, store_code=code))
    ),
)


def _source_item(_: Store, product: Product) -> dict[str, Any]:
    """MSI's `inventory_source_item` row: one per product and source (the sandbox has one,
    `default`); status 1 in stock, 0 out of stock."""
    return {
        "sku": product.sku,
        "source_code": "default",
        "quantity": float(product.qty),
        "status": 1 if product.qty > 0 else 0,
    }


# Products that hold stock themselves: a configurable or bundle product's stock is its parts'.
SOURCE_ITEMS: Collection[Product] = Collection(
    lambda store: [
        p
        for p in sorted(store.catalogue.products.values(), key=lambda p: p.entity_id)
        if p.type_id not in ("configurable", "bundle")
    ],
    _source_item,
    _source_item,
)


def _attribute(_: Store, attribute: Attribute) -> dict[str, Any]:
    """A row of `GET /V1/products/attributes`: the attribute and its options' labels."""
    return {
        "attribute_id": attribute.attribute_id,
        "attribute_code": attribute.code,
        "frontend_input": attribute.frontend_input,
        "default_frontend_label": attribute.label,
        "is_user_defined": True,
        "options": [{"label": " ", "value": ""}]
        + [{"label": label, "value": str(option_id)} for option_id, label in attribute.options],
    }


def _attribute_columns(_: Store, attribute: Attribute) -> dict[str, Any]:
    return {
        "attribute_id": attribute.attribute_id,
        "attribute_code": attribute.code,
        "frontend_input": attribute.frontend_input,
    }


ATTRIBUTES: Collection[Attribute] = Collection(
    lambda store: sorted(store.catalogue.attributes.values(), key=lambda a: a.attribute_id),
    _attribute_columns,
    _attribute,
)
