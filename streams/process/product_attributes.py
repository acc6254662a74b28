"""Product attributes for order lines, read through Commerce REST and cached: sku → code → label."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from connectors.commerce.client import CommerceClient
from connectors.errors import ConnectorError

log = logging.getLogger(__name__)


class ProductAttributes:
    """The configured attributes of each product, as labels (select option ids resolved)."""

    def __init__(
        self,
        client: CommerceClient,
        codes: Iterable[str],
        *,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._codes = tuple(codes)
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}
        self._gaps: list[tuple[str, str]] = []

    async def for_skus(self, skus: Iterable[str]) -> dict[str, dict[str, str]]:
        """Attributes per sku; a product Commerce cannot answer for now simply has none yet
        (the record is written again, with them, when its order next changes)."""
        found: dict[str, dict[str, str]] = {}
        for sku in dict.fromkeys(skus):
            labels = await self._labels(sku)
            if labels:
                found[sku] = labels
        return found

    def take_gaps(self) -> list[tuple[str, str]]:
        """(sku, attribute code) of the products read since the last call that have no value
        for a configured attribute: each reported once per read of the product, not per order."""
        gaps, self._gaps = self._gaps, []
        return gaps

    async def _labels(self, sku: str) -> dict[str, str]:
        cached = self._cache.get(sku)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1]
        try:
            product = await self._client.product(sku)
            labels = await self._resolve(product or {})
        except ConnectorError as exc:
            log.warning("product attributes unavailable for a line: %s", type(exc).__name__)
            return {}
        if product is not None:
            self._gaps += [(sku, code) for code in self._codes if code not in labels]
        self._cache[sku] = (self._clock(), labels)
        return labels

    async def _resolve(self, product: Mapping[str, Any]) -> dict[str, str]:
        values: dict[str, Any] = {
            str(item.get("attribute_code")): item.get("value")
            for item in product.get("custom_attributes", [])
            if isinstance(item, dict)
        }
        labels: dict[str, str] = {}
        for code in self._codes:
            value = values.get(code, product.get(code))
            if value is None or value == "":
                continue
            label = await self._client.labels.attribute_label(code, value)
            if label is not None:
                labels[code] = label
        return labels
