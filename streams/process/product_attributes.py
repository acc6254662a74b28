"""Product attributes for Orders lines: every worker's whole copy of `commerce.products.v1`
(SKU → the labels its lines carry), read to the end at start, then followed.

The catalogue sync resolves each product once and publishes it there; the join looks lines up
in memory, so nothing is read from Commerce on an order's way, and a record written again later
(after an email change, on a replay) carries the same attributes as the first time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from schemas.contract.products import ProductUpdated
from schemas.contract.topics import PRODUCTS
from streams.runtime.catch_up import Record, follow, read_to_end

log = logging.getLogger(__name__)

RETRY_WAIT = 2.0

# The start of the read and its follow-up, as seams: (handle) → where the read ended, and
# (handle, from there) → never returns.
Load = Callable[[Callable[[Record], None]], Awaitable[dict[int, int]]]
Follow = Callable[[Callable[[Record], None], Mapping[int, int]], Awaitable[None]]


class ProductAttributes:
    """SKU → the attributes its Orders lines carry (code → label), as last published."""

    def __init__(
        self,
        load: Load,
        follow_on: Follow,
        *,
        retry_wait: float = RETRY_WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._load = load
        self._follow = follow_on
        self._retry_wait = retry_wait
        self._sleep = sleep
        self._lines: dict[str, dict[str, str]] = {}
        self._loaded = asyncio.Event()
        self._ends: dict[int, int] | None = None

    @classmethod
    def on_topic(cls, bootstrap: str, *, fetch_max_wait_ms: int = 100) -> ProductAttributes:
        """The copy of the products topic on the broker at `bootstrap`."""

        async def load(handle: Callable[[Record], None]) -> dict[int, int]:
            return await read_to_end(
                bootstrap, PRODUCTS, handle, fetch_max_wait_ms=fetch_max_wait_ms
            )

        async def follow_on(handle: Callable[[Record], None], start: Mapping[int, int]) -> None:
            await follow(
                bootstrap, PRODUCTS, handle, start=start, fetch_max_wait_ms=fetch_max_wait_ms
            )

        return cls(load, follow_on)

    def for_skus(self, skus: Iterable[str]) -> dict[str, dict[str, str]]:
        """The attributes of each SKU that has some; a SKU the catalogue has not synced yet
        has none (its lines carry them once a sync has published it and the order changes)."""
        return {sku: labels for sku in skus if (labels := self._lines.get(sku))}

    def take(self, record: Record) -> None:
        """One record of the products topic: the SKU's latest product, or gone (a tombstone)."""
        sku = (record.key or b"").decode(errors="replace")
        if record.value is None:
            self._lines.pop(sku, None)
            return
        try:
            product = ProductUpdated.model_validate_json(record.value)
        except ValidationError as exc:
            # Not ours to dead-letter (every worker reads it): the SKU keeps what it had.
            log.error(
                "unreadable product on %s: %d problem(s)",
                PRODUCTS,
                exc.error_count(),
                extra={"partition": record.partition, "offset": record.offset, "key": sku},
            )
            return
        self._lines[product.sku] = product.line_attributes

    async def ready(self) -> None:
        """Returns once the topic has been read to its end (the join handles no event before)."""
        await self._loaded.wait()

    async def preload(self) -> None:
        """Read the topic to its end before the worker starts (its own event loop), so the join
        never holds records waiting for it; `run` then only follows. When the broker cannot be
        read yet, `run` reads it instead."""
        try:
            self._ends = await self._load(self.take)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("could not read %s before starting: %s", PRODUCTS, type(exc).__name__)
            return
        self._announce()

    async def run(self) -> None:
        """Read the topic to its end (again after a broker failure) unless preloaded, then
        follow it for good."""
        while self._ends is None:
            try:
                self._ends = await self._load(self.take)
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("could not read %s yet: %s", PRODUCTS, type(exc).__name__)
                await self._sleep(self._retry_wait)
                continue
            self._announce()
        await self._follow(self.take, self._ends)

    def _announce(self) -> None:
        log.info("product attributes loaded for %d SKUs", len(self._lines))
        self._loaded.set()
