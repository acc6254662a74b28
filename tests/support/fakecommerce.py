"""Adobe Commerce REST at the transport seam: searchCriteria, DESC default, last page repeated."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import orjson

SEARCHES = {
    "/V1/orders": "orders",
    "/V1/creditmemos": "creditmemos",
    "/V1/shipments": "shipments",
    "/V1/customers/search": "customers",
    "/V1/carts/search": "carts",
    "/V1/products": "products",
}
_FILTER = re.compile(
    r"^searchCriteria\[filter_groups\]\[(\d+)\]\[filters\]\[(\d+)\]\[(field|value|condition_type)\]$"
)
_SORT = re.compile(r"^searchCriteria\[sortOrders\]\[(\d+)\]\[(field|direction)\]$")
NOT_FOUND = {
    "message": "The entity that was requested doesn't exist. Verify the entity and try again."
}


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body), headers=headers)


@dataclass
class FakeCommerce:
    """An in-memory store answering like Commerce 2.4: Bearer auth, the full searchCriteria
    parser (groups AND, filters OR, every condition), sort DESC unless a direction is given,
    and a `currentPage` past the end answered with the last page again."""

    token: str | None = "integration-token"
    store_code: str = "default"
    tables: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in SEARCHES.values()}
    )
    totals: dict[str, dict[str, Any]] = field(default_factory=dict)
    attribute_options: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    product_options: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[httpx.Response | Exception] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    on_search: Callable[[FakeCommerce, int], None] | None = None
    searches: int = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def calls(self, path: str) -> list[httpx.Request]:
        """Requests made to one path (below the `/rest/<store>` prefix)."""
        prefix = f"/rest/{self.store_code}"
        return [r for r in self.requests if r.url.path == prefix + path]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            return reply(
                401,
                {
                    "message": "The consumer isn't authorized to access %resources.",
                    "parameters": {"resources": "Magento_Sales::sales"},
                },
            )
        raw = request.url.raw_path.decode().split("?", 1)[0]
        parts = [unquote(p) for p in raw.split("/")][1:]
        if parts[:2] != ["rest", self.store_code] or parts[2:3] != ["V1"]:
            return reply(404, {"message": "Request does not match any route."})
        route = parts[3:]
        path = "/V1/" + "/".join(route)
        if request.method == "GET" and path in SEARCHES:
            return self._search(SEARCHES[path], request)
        if request.method == "PUT" and route[:1] == ["customers"] and len(route) == 2:
            return self._put_customer(route[1], orjson.loads(request.content))
        if request.method != "GET":
            return reply(404, {"message": "Request does not match any route."})
        return self._read(route)

    # --- reads ---------------------------------------------------------------------------------

    def _read(self, route: list[str]) -> httpx.Response:
        match route:
            case ["orders", order_id]:
                found = self._find("orders", "entity_id", order_id)
            case ["customers", customer_id]:
                found = self._find("customers", "id", customer_id)
            case ["carts", cart_id, "totals"]:
                found = self.totals.get(cart_id)
            case ["products", "attributes", code, "options"]:
                options = self.attribute_options.get(code)
                return reply(200, options) if options is not None else reply(404, NOT_FOUND)
            case ["products", sku, "options"]:
                if self._find("products", "sku", sku) is None:
                    return reply(404, NOT_FOUND)
                return reply(200, self.product_options.get(sku, []))
            case ["products", sku]:
                found = self._find("products", "sku", sku)
            case _:
                return reply(404, {"message": "Request does not match any route."})
        return reply(200, found) if found is not None else reply(404, NOT_FOUND)

    def _find(self, table: str, key: str, value: str) -> dict[str, Any] | None:
        return next((row for row in self.tables[table] if str(row.get(key)) == value), None)

    def _put_customer(self, customer_id: str, body: Any) -> httpx.Response:
        current = self._find("customers", "id", customer_id)
        if current is None:
            return reply(404, NOT_FOUND)
        customer = body["customer"]
        current.clear()
        current.update(customer)
        return reply(200, current)

    # --- searchCriteria ------------------------------------------------------------------------

    def _search(self, table: str, request: httpx.Request) -> httpx.Response:
        self.searches += 1
        if self.on_search is not None:
            self.on_search(self, self.searches)
        params = dict(request.url.params.multi_items())
        if not any(name.startswith("searchCriteria") for name in params):
            return reply(
                400,
                {
                    "message": '"%fieldName" is required.',
                    "parameters": {"fieldName": "searchCriteria"},
                },
            )
        groups: dict[int, dict[int, dict[str, str]]] = {}
        sorts: dict[int, dict[str, str]] = {}
        for name, value in params.items():
            if m := _FILTER.match(name):
                groups.setdefault(int(m[1]), {}).setdefault(int(m[2]), {})[m[3]] = value
            elif m := _SORT.match(name):
                sorts.setdefault(int(m[1]), {})[m[2]] = value
        rows = [
            row
            for row in self.tables[table]
            if all(any(matches(row, f) for f in group.values()) for group in groups.values())
        ]
        for _, order in sorted(sorts.items(), reverse=True):
            descending = order.get("direction", "DESC").upper() == "DESC"  # Commerce's default
            rows = sort_rows(rows, order["field"], descending)
        total = len(rows)
        size = params.get("searchCriteria[pageSize]")
        page = int(params.get("searchCriteria[currentPage]", "1"))
        if size is not None:
            size_n = int(size)
            last = max(1, math.ceil(total / size_n))
            shown = min(page, last)  # past the end: the last page again
            rows = rows[(shown - 1) * size_n : shown * size_n]
        criteria: dict[str, Any] = {
            "filter_groups": [],
            "page_size": size and int(size),
            "current_page": page,
        }
        return reply(200, {"items": rows, "search_criteria": criteria, "total_count": total})


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(left: Any, right: str) -> int:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    text = str(left)
    return (text > right) - (text < right)


def matches(row: dict[str, Any], spec: dict[str, str]) -> bool:
    """One filter, with SQL's NULL semantics (a NULL column fails every test but `null`)."""
    value = row.get(spec["field"])
    condition = spec.get("condition_type", "eq")
    wanted = spec.get("value", "")
    if condition == "null":
        return value is None
    if condition == "notnull":
        return value is not None
    if value is None:
        return False
    if condition == "like":
        pattern = re.escape(wanted).replace("%", ".*").replace("_", ".")
        return re.fullmatch(pattern, str(value), flags=re.IGNORECASE | re.DOTALL) is not None
    if condition in {"in", "nin"}:
        inside = any(_compare(value, item.strip()) == 0 for item in wanted.split(","))
        return inside if condition == "in" else not inside
    if condition == "finset":
        return wanted in [part.strip() for part in str(value).split(",")]
    order = _compare(value, wanted)
    tests: dict[str, bool] = {
        "eq": order == 0,
        "neq": order != 0,
        "gt": order > 0,
        "gteq": order >= 0,
        "from": order >= 0,
        "lt": order < 0,
        "lteq": order <= 0,
        "to": order <= 0,
    }
    return tests[condition]


def sort_rows(rows: list[dict[str, Any]], name: str, descending: bool) -> list[dict[str, Any]]:
    """Stable sort on one column; NULLs first ascending, as MySQL does."""

    def key(row: dict[str, Any]) -> tuple[int, float, str]:
        value = row.get(name)
        number = _number(value)
        return (value is not None, number if number is not None else 0.0, str(value))

    return sorted(rows, key=key, reverse=descending)
