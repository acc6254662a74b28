"""Every worker's copy of the products topic: the lines' attributes of each SKU, as last
published, read to the end before the join starts, and a SKU gone when tombstoned."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError

from schemas.contract.products import ProductUpdated
from schemas.contract.topics import PRODUCTS
from streams.process.product_attributes import ProductAttributes
from streams.runtime.catch_up import Record
from streams.runtime.topics import encoded

SYNCED = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)


def record(sku: str, value: bytes | None, offset: int = 0) -> Record:
    return ConsumerRecord(
        PRODUCTS, 0, offset, 0, 0, sku.encode(), value, None, 0, len(value or b""), []
    )


def product(sku: str, **attributes: str) -> bytes:
    published = ProductUpdated(
        sku=sku,
        product_id=1,
        name=sku,
        enabled=True,
        attributes=attributes,
        line_codes=("brand", "color"),
        synced_at=SYNCED,
    )
    return encoded(published)


def test_lines_carry_only_the_codes_the_mapping_names_for_them() -> None:
    published = ProductUpdated.model_validate_json(product("24-MB01", brand="Luma", material="X"))

    assert published.line_attributes == {"brand": "Luma"}


async def test_the_join_waits_for_the_topic_read_to_its_end_then_follows_it() -> None:
    followed: asyncio.Queue[Record] = asyncio.Queue()
    failures = [KafkaConnectionError()]

    async def load(handle: Callable[[Record], None]) -> dict[int, int]:
        if failures:
            raise failures.pop()
        handle(record("24-MB01", product("24-MB01", brand="Luma", color="Black")))
        handle(record("24-WG02", product("24-WG02", brand="Luma"), 1))
        return {0: 2}

    async def follow_on(handle: Callable[[Record], None], start: Mapping[int, int]) -> None:
        assert start == {0: 2}
        while True:
            handle(await followed.get())
            followed.task_done()

    async def no_wait(seconds: float) -> None:
        return None

    products = ProductAttributes(load, follow_on, sleep=no_wait)
    running = asyncio.create_task(products.run())
    try:
        async with asyncio.timeout(5):
            await products.ready()
        assert products.for_skus(["24-MB01", "24-WG02", "NO-SUCH"]) == {
            "24-MB01": {"brand": "Luma", "color": "Black"},
            "24-WG02": {"brand": "Luma"},
        }
        await followed.put(record("24-MB01", product("24-MB01", brand="Puma"), 2))
        await followed.put(record("24-WG02", None, 3))
        await followed.put(record("24-UG06", b"not a product", 4))
        async with asyncio.timeout(5):
            await followed.join()
        assert products.for_skus(["24-MB01", "24-WG02", "24-UG06"]) == {
            "24-MB01": {"brand": "Puma"}
        }
    finally:
        running.cancel()
