"""The Adobe Commerce REST client: searches, single reads, the customer write-back, and retries."""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from connectors.clock import Clock, Sleep
from connectors.commerce.delta import (
    DEFAULT_OVERLAP,
    DeltaCheckpoint,
    DeltaPage,
    EntityKey,
    delta_pages,
    entity_key,
)
from connectors.commerce.labels import LabelResolver, parse_attribute_options
from connectors.commerce.pagination import Item, SearchResult, search_pages
from connectors.commerce.search import Condition, Direction, SearchCriteria
from connectors.commerce.session import CommerceSession, RetryPolicy
from connectors.errors import FatalError, SkippableError
from connectors.rest import SessionClient, segment, unless_missing

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 100  # Commerce's input limits cap pageSize at 300 by default
MAX_PAGE_SIZE = 300
SOURCE_ITEMS = "/V1/inventory/source-items"


class CommerceClient(SessionClient):
    """Async Commerce REST client; every failure surfaces as a `ConnectorError`, never httpx's.

    Requests go to `{base_url}/rest/{store_code}/V1/…`. 429 (Fastly) and 5xx are retried up
    to `attempts` times, waiting the server's `Retry-After` when given, else jittered backoff;
    401/403 raise `FatalError`; other 4xx `SkippableError` (single reads turn 404 into None).
    `clock` (monotonic) drives timings and the label cache, `wall_clock` (epoch) reads
    epoch-style reset headers, `sleep` every wait.
    """

    _session: CommerceSession

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth,
        store_code: str = "default",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        jitter: Callable[[], float] = random.random,
        label_ttl: float = 3600.0,
    ) -> None:
        self._auth = auth
        self._session = CommerceSession(
            base_url,
            auth=auth,
            store_code=store_code,
            transport=transport,
            timeout=timeout,
            retry=RetryPolicy(attempts, base_delay, max_delay, jitter),
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
        )
        self.labels = LabelResolver(
            self.attribute_options, self.product_options, ttl=label_ttl, clock=clock
        )

    def __repr__(self) -> str:
        prefix = self._session.prefix
        return f"CommerceClient(base_url={self.base_url!r}, prefix={prefix!r}, auth={self._auth!r})"

    # --- searches ------------------------------------------------------------------------------

    async def search(self, path: str, criteria: SearchCriteria) -> SearchResult:
        """One page of any search endpoint (`/V1/orders`, `/V1/customers/search`, …)."""
        data = await self._session.send("search", "GET", path, params=criteria.params())
        return SearchResult.from_reply(data, f"GET {path}")

    async def orders(self, criteria: SearchCriteria) -> SearchResult:
        return await self.search("/V1/orders", criteria)

    async def creditmemos(self, criteria: SearchCriteria) -> SearchResult:
        return await self.search("/V1/creditmemos", criteria)

    async def shipments(self, criteria: SearchCriteria) -> SearchResult:
        return await self.search("/V1/shipments", criteria)

    async def search_customers(self, criteria: SearchCriteria) -> SearchResult:
        return await self.search("/V1/customers/search", criteria)

    async def search_carts(self, criteria: SearchCriteria) -> SearchResult:
        return await self.search("/V1/carts/search", criteria)

    async def products(self, criteria: SearchCriteria) -> SearchResult:
        return await self.search("/V1/products", criteria)

    async def source_items(self, skus: Sequence[str]) -> list[Item]:
        """MSI's source items (`sku`, `source_code`, `quantity`, `status`) of these SKUs, in one
        call for up to 300 rows: stock that search pages of products never carry."""
        if not skus:
            return []
        criteria = SearchCriteria().where("sku", Condition.IN, sorted(set(skus)))
        return [item async for item in self.iter_search(SOURCE_ITEMS, criteria, MAX_PAGE_SIZE)]

    async def product_attributes(self, attribute_ids: Sequence[int]) -> list[Item]:
        """`GET /V1/products/attributes` of these attribute ids: each with its `attribute_code`
        and `options` (`label`, `value`), in one call for up to 300 attributes."""
        if not attribute_ids:
            return []
        criteria = SearchCriteria().where("attribute_id", Condition.IN, sorted(set(attribute_ids)))
        return [
            item
            async for item in self.iter_search("/V1/products/attributes", criteria, MAX_PAGE_SIZE)
        ]

    async def iter_search(
        self,
        path: str,
        criteria: SearchCriteria | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Item]:
        """Every item a search matches, page by page (criteria's own paging is replaced).

        Without a sort order, a known endpoint is sorted by its id ASC so pages are stable.
        """
        base = criteria or SearchCriteria()
        sort_field = entity_key(path).sort_field
        if not base.sort_orders and sort_field is not None:
            base = base.sort(sort_field, Direction.ASC)

        async def fetch(page: int) -> SearchResult:
            return await self.search(path, base.page(page_size, page))

        async for result in search_pages(fetch, page_size, where=f"GET {path}"):
            for item in result.items:
                yield item

    async def iter_delta(
        self,
        path: str,
        since: datetime | DeltaCheckpoint,
        overlap: timedelta = DEFAULT_OVERLAP,
        page_size: int = DEFAULT_PAGE_SIZE,
        *,
        criteria: SearchCriteria | None = None,
        key: EntityKey | None = None,
    ) -> AsyncIterator[DeltaPage]:
        """Pages of entities updated at or after `since`, each version once.

        `since` is a time, or a stored checkpoint (resumed from its watermark less `overlap`).
        Store each page's checkpoint once its items are handled, to resume there.

        `criteria` adds filters (no sort or paging); `key` overrides the endpoint's id field
        and tie-breaker (see `delta.ENTITY_KEYS`).
        """

        async def fetch(page_criteria: SearchCriteria) -> SearchResult:
            return await self.search(path, page_criteria)

        async for page in delta_pages(
            fetch,
            since,
            overlap=overlap,
            page_size=page_size,
            key=key or entity_key(path),
            base=criteria,
            where=f"GET {path}",
        ):
            yield page

    # --- single reads --------------------------------------------------------------------------

    async def order(self, order_id: int | str) -> dict[str, Any] | None:
        """`GET /V1/orders/{id}`, or None when the order does not exist."""
        return await self._read("order", f"/V1/orders/{segment(order_id)}")

    async def customer(self, customer_id: int | str) -> dict[str, Any] | None:
        """`GET /V1/customers/{id}`, or None when the customer does not exist."""
        return await self._read("customer", f"/V1/customers/{segment(customer_id)}")

    async def cart_totals(self, cart_id: int | str) -> dict[str, Any] | None:
        """`GET /V1/carts/{id}/totals`, or None when the cart does not exist."""
        return await self._read("cart_totals", f"/V1/carts/{segment(cart_id)}/totals")

    async def product(self, sku: str) -> dict[str, Any] | None:
        """`GET /V1/products/{sku}`, or None when no product has this SKU."""
        return await self._read("product", f"/V1/products/{segment(sku)}")

    async def configurable_children(self, sku: str) -> list[dict[str, Any]]:
        """`GET /V1/configurable-products/{sku}/children`: the children as products (their
        option values in `custom_attributes`); none for a product that is gone meanwhile."""
        path = f"/V1/configurable-products/{segment(sku)}/children"
        data = await unless_missing(self._session.send("configurable_children", "GET", path))
        if data is None:
            return []
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise FatalError(f"GET {path}: children reply is not a list of objects")
        return data

    async def categories(self) -> dict[str, Any]:
        """`GET /V1/categories`: the category tree from the root (`children_data` nested)."""
        tree = await self._read("categories", "/V1/categories")
        if tree is None:
            raise FatalError("GET /V1/categories: the store has no category tree")
        return tree

    async def store_views(self) -> list[dict[str, Any]]:
        """`GET /V1/store/storeViews`: every store view (`id`, `code`, `website_id`, …)."""
        return await self._list("store_views", "/V1/store/storeViews")

    async def websites(self) -> list[dict[str, Any]]:
        """`GET /V1/store/websites`: every website (`id`, `code`, `name`, …)."""
        return await self._list("websites", "/V1/store/websites")

    async def attribute_options(self, code: str) -> dict[str, str]:
        """Option value id → label of a select attribute (404 raises `SkippableError`)."""
        path = f"/V1/products/attributes/{segment(code)}/options"
        data = await self._session.send("attribute_options", "GET", path)
        if not isinstance(data, list):
            raise FatalError(f"GET {path}: attribute options reply is not a list")
        return parse_attribute_options(data)

    async def product_options(self, sku: str) -> list[dict[str, Any]]:
        """The product's custom options as Commerce lists them (404 raises `SkippableError`)."""
        path = f"/V1/products/{segment(sku)}/options"
        data = await self._session.send("product_options", "GET", path)
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise FatalError(f"GET {path}: product options reply is not a list of objects")
        return data

    # --- write-back ----------------------------------------------------------------------------

    async def unsubscribe_customer(self, customer_id: int | str) -> dict[str, Any]:
        """Unsubscribe a registered customer from the newsletter; returns the saved customer.

        Commerce's PUT replaces the customer, so the body is the customer just read with
        only `extension_attributes.is_subscribed` changed. A customer who already reads as not
        subscribed is returned as read, without a PUT: the save would change no subscription
        (Commerce leaves a subscriber that is not subscribed as it is) but would still move
        `updated_at` and emit a customer event.
        """
        current = await self.customer(customer_id)
        path = f"/V1/customers/{segment(customer_id)}"
        if current is None:
            raise SkippableError(f"PUT {path}: customer not found", status=404)
        extension = current.get("extension_attributes")
        if isinstance(extension, dict) and extension.get("is_subscribed") is False:
            logger.info(
                "commerce customer already unsubscribed", extra={"customer_id": str(customer_id)}
            )
            return current
        body = copy.deepcopy(current)
        body["extension_attributes"] = {
            **(extension if isinstance(extension, dict) else {}),
            "is_subscribed": False,
        }
        data = await self._session.send(
            "unsubscribe_customer", "PUT", path, body={"customer": body}
        )
        if not isinstance(data, dict):
            raise FatalError(f"PUT {path}: customer reply is not a JSON object")
        logger.info("commerce customer unsubscribed", extra={"customer_id": str(customer_id)})
        return data

    # --- shared -------------------------------------------------------------------------------------

    async def _list(self, operation: str, path: str) -> list[dict[str, Any]]:
        data = await self._session.send(operation, "GET", path)
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise FatalError(f"GET {path}: reply is not a list of objects")
        return data

    async def _read(self, operation: str, path: str) -> dict[str, Any] | None:
        data = await unless_missing(self._session.send(operation, "GET", path))
        if data is None:
            return None
        if not isinstance(data, dict):
            raise FatalError(f"GET {path}: reply is not a JSON object")
        return data
