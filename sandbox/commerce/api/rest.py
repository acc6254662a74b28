"""REST like Commerce under `/rest/<store_code>/V1/`: auth, searchCriteria lists, reads, write-back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from aiohttp import web

from sandbox.commerce.api.resources import (
    ATTRIBUTES,
    CARTS,
    CREDITMEMOS,
    CUSTOMERS,
    ORDERS,
    PRODUCTS,
    SHIPMENTS,
    SOURCE_ITEMS,
    Collection,
)
from sandbox.commerce.api.search import SearchCriteriaError, parse, search
from sandbox.commerce.api.state import STATE, CommerceSandbox
from sandbox.commerce.model.customers import EmailTaken
from sandbox.commerce.model.wire import rest

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX = "/rest/{store_code}/V1"
NOT_FOUND = "The entity that was requested doesn't exist. Verify the entity and try again."


class RestError(Exception):
    """An error answer in Commerce's shape: `{"message", "parameters"}`."""

    def __init__(self, status: int, message: str, parameters: Any = None) -> None:
        super().__init__(message)
        self.status, self.message, self.parameters = status, message, parameters

    def response(self) -> web.Response:
        body: dict[str, Any] = {"message": self.message}
        if self.parameters is not None:
            body["parameters"] = self.parameters
        return _json(body, self.status)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _no_such(field: str, value: str) -> RestError:
    return RestError(404, "No such entity with %fieldName = %fieldValue",
                     {"fieldName": field, "fieldValue": value})  # fmt: skip


def _sandbox(request: web.Request) -> CommerceSandbox:
    return request.app[STATE]


def _int(request: web.Request, name: str, field: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise _no_such(field, raw)
    return int(raw)


def _listing(collection: Collection[T]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if not any(key.startswith("searchCriteria") for key in request.query):
            raise RestError(400, '"%fieldName" is required. Enter and try again.',
                            {"fieldName": "searchCriteria"})  # fmt: skip
        try:
            criteria = parse(request.query.items())
        except SearchCriteriaError as error:
            raise RestError(400, str(error), {"fieldName": error.field}) from None
        store = _sandbox(request).store
        page, total = search(
            collection.rows(store), criteria, lambda row: collection.columns(store, row)
        )
        code = request.match_info["store_code"]
        if collection.in_store is not None:
            items = [collection.in_store(store, row, code) for row in page]
        else:
            items = [collection.render(store, row) for row in page]
        return _json({"items": items, "search_criteria": criteria.echo(), "total_count": total})

    return handler


async def order(request: web.Request) -> web.StreamResponse:
    found = _sandbox(request).store.orders.get(_int(request, "id", "orderId"))
    if found is None:
        raise RestError(404, NOT_FOUND)
    return _json(found.rest())


async def customer(request: web.Request) -> web.StreamResponse:
    store = _sandbox(request).store
    found = store.customers.get(_int(request, "id", "customerId"))
    if found is None:
        raise _no_such("customerId", request.match_info["id"])
    return _json(rest(found.rest(store.is_subscribed(found))))


async def save_customer(request: web.Request) -> web.StreamResponse:
    """`PUT /V1/customers/{id}`: Commerce's save; `extension_attributes.is_subscribed` sets the
    newsletter subscription (saving the subscriber, which emits its event)."""
    sandbox = _sandbox(request)
    found = sandbox.store.customers.get(_int(request, "id", "customerId"))
    if found is None:
        raise _no_such("customerId", request.match_info["id"])
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise RestError(400, "Decoding error: Syntax error") from None
    data = body.get("customer") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise RestError(
            400, '"%fieldName" is required. Enter and try again.', {"fieldName": "customer"}
        )
    for required in ("email", "firstname", "lastname"):
        if not str(data.get(required) or "").strip():
            raise RestError(
                400, '"%fieldName" is required. Enter and try again.', {"fieldName": required}
            )
    extension = data.get("extension_attributes") or {}
    subscribed = extension.get("is_subscribed") if isinstance(extension, dict) else None
    sandbox.catch_up()
    try:
        sandbox.store.save_customer(
            found, email=str(data["email"]).strip(), firstname=str(data["firstname"]),
            lastname=str(data["lastname"]),
            subscribed=bool(subscribed) if subscribed is not None else None,
        )  # fmt: skip
    except EmailTaken as taken:
        raise RestError(400, taken.message) from None
    return _json(rest(found.rest(sandbox.store.is_subscribed(found))))


async def cart(request: web.Request) -> web.StreamResponse:
    found = _sandbox(request).store.quotes.get(_int(request, "id", "cartId"))
    if found is None:
        raise _no_such("cartId", request.match_info["id"])
    return _json(rest(found.rest()))


async def cart_totals(request: web.Request) -> web.StreamResponse:
    found = _sandbox(request).store.quotes.get(_int(request, "id", "cartId"))
    if found is None:
        raise _no_such("cartId", request.match_info["id"])
    return _json(rest(found.totals()))


def _product(request: web.Request) -> Any:
    product = _sandbox(request).store.catalogue.products.get(request.match_info["sku"])
    if product is None:
        raise RestError(
            404, "The product that was requested doesn't exist. Verify the product and try again."
        )
    return product


async def product(request: web.Request) -> web.StreamResponse:
    code = request.match_info["store_code"]
    return _json(rest(_sandbox(request).store.catalogue.rest(_product(request), store_code=code)))


async def product_options(request: web.Request) -> web.StreamResponse:
    return _json(rest(_product(request).rest_options()))


async def configurable_children(request: web.Request) -> web.StreamResponse:
    catalogue = _sandbox(request).store.catalogue
    code = request.match_info["store_code"]
    return _json(rest(catalogue.children_of(_product(request), code)))


async def websites(request: web.Request) -> web.StreamResponse:
    """`GET /V1/store/websites`."""
    return _json(_sandbox(request).store.catalogue.websites())


async def store_views(request: web.Request) -> web.StreamResponse:
    """`GET /V1/store/storeViews`."""
    return _json(_sandbox(request).store.catalogue.store_views())


async def attribute_options(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    options = _sandbox(request).store.catalogue.attribute_options(code)
    if options is None:
        message = 'The attribute with a "%1" attributeCode doesn\'t exist.'
        raise RestError(404, message + " Verify the attribute and try again.", [code])
    return _json(options)


async def categories(request: web.Request) -> web.StreamResponse:
    """`GET /V1/categories`: the category tree from the root."""
    return _json(_sandbox(request).store.catalogue.category_tree())


# (method, path under /V1, handler, the ACL resource a 401 names); order matters for aiohttp.
ROUTES: tuple[tuple[str, str, Handler, str], ...] = (
    ("GET", "/orders", _listing(ORDERS), "Magento_Sales::actions_view"),
    ("GET", "/orders/{id}", order, "Magento_Sales::actions_view"),
    ("GET", "/creditmemos", _listing(CREDITMEMOS), "Magento_Sales::sales_creditmemo"),
    ("GET", "/shipments", _listing(SHIPMENTS), "Magento_Sales::shipment"),
    ("GET", "/customers/search", _listing(CUSTOMERS), "Magento_Customer::customer"),
    ("GET", "/customers/{id}", customer, "Magento_Customer::customer"),
    ("PUT", "/customers/{id}", save_customer, "Magento_Customer::manage"),
    ("GET", "/carts/search", _listing(CARTS), "Magento_Cart::manage"),
    ("GET", "/carts/{id}/totals", cart_totals, "Magento_Cart::manage"),
    ("GET", "/carts/{id}", cart, "Magento_Cart::manage"),
    ("GET", "/categories", categories, "Magento_Catalog::categories"),
    ("GET", "/products", _listing(PRODUCTS), "Magento_Catalog::products"),
    ("GET", "/products/attributes", _listing(ATTRIBUTES), "Magento_Catalog::attributes_attributes"),
    ("GET", "/products/attributes/{code}/options", attribute_options,
     "Magento_Catalog::attributes_attributes"),
    ("GET", "/products/{sku}/options", product_options, "Magento_Catalog::products"),
    ("GET", "/products/{sku}", product, "Magento_Catalog::products"),
    ("GET", "/configurable-products/{sku}/children", configurable_children,
     "Magento_Catalog::products"),
    ("GET", "/store/websites", websites, "Magento_Backend::store"),
    ("GET", "/store/storeViews", store_views, "Magento_Backend::store"),
    ("GET", "/inventory/source-items", _listing(SOURCE_ITEMS), "Magento_InventoryApi::source"),
)  # fmt: skip
ACL: dict[str, str] = {f"{method} {PREFIX}{path}": acl for method, path, _, acl in ROUTES}


@web.middleware
async def rest_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Fastly's 429 (a fault), the store code, the integration's credentials, error bodies."""
    route = request.match_info.route.resource
    key = f"{request.method} {route.canonical}" if route is not None else ""
    if key not in ACL:
        if route is None and request.path.startswith("/rest/"):
            return RestError(404, "Request does not match any route.").response()
        return await handler(request)
    sandbox = _sandbox(request)
    if sandbox.dice.rest_throttled():
        return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
    if request.match_info["store_code"] not in sandbox.config.store_codes:
        return RestError(404, "Requested store is not found").response()
    if not sandbox.auth.allows(request.method, str(request.url), request.headers):
        return RestError(401, "The consumer isn't authorized to access %resources.",
                         {"resources": ACL[key]}).response()  # fmt: skip
    try:
        return await handler(request)
    except RestError as error:
        return error.response()


def add_routes(app: web.Application) -> None:
    for method, path, handler, _ in ROUTES:
        app.router.add_route(method, PREFIX + path, handler)
