"""Stale products: after the delta's pages, the SKUs their save events marked that the delta did
not read, `sku in` one call a page, and the position moves only once they are done."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from connectors.commerce.delta import DeltaCheckpoint, DeltaPage
from streams.sources.catalogue.stale import POSITION, StaleMarks, cleared, with_stale
from tests.support.commerce import Commerce

CHECKPOINT = DeltaCheckpoint(datetime(2026, 12, 6, 22, tzinfo=UTC))


async def delta_of(*skus: str) -> AsyncIterator[DeltaPage]:
    yield DeltaPage([{"sku": sku} for sku in skus], CHECKPOINT)


async def test_stale_skus_the_delta_did_not_read_are_read_by_sku_one_call_a_page(
    commerce: Commerce,
) -> None:
    stale = ("24-MB01", "24-MB04", "24-WG02", "24-UG06", "NO-SUCH-SKU")

    pages = [
        page async for page in with_stale(commerce.client, delta_of("24-MB01"), stale, None, 2)
    ]

    assert [sorted(str(row["sku"]) for row in page.items) for page in pages] == [
        ["24-MB01"],
        ["24-MB04", "24-WG02"],
        ["24-UG06"],
    ]
    assert all(page.checkpoint == CHECKPOINT for page in pages)
    searches = commerce.network.to("GET", "/rest/default/V1/products")
    assert len(searches) == 2  # two pages of stale SKUs, no read of the one the delta had


async def test_nothing_is_read_when_nothing_is_stale(commerce: Commerce) -> None:
    pages = [page async for page in with_stale(commerce.client, delta_of(), (), None, 100)]

    assert [page.items for page in pages] == [[]]
    assert commerce.network.to("GET", "/rest/default/V1/products") == []


def test_clearing_keeps_the_rest_of_the_cursor_and_moves_the_position() -> None:
    state = {"products": {"watermark": None}, POSITION: {"0": 3}}

    moved = cleared(state, StaleMarks(("24-MB01",), {0: 7, 1: 2}))

    assert moved == {"products": {"watermark": None}, POSITION: {"0": 7, "1": 2}}
    assert state[POSITION] == {"0": 3}
