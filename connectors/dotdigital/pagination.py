"""Dotdigital's two paging styles: v3 `_links.next.marker` cursors and v2 `select`/`skip` pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

V3Page = dict[str, Any]


async def marker_pages(
    fetch: Callable[[str | None], Awaitable[V3Page]],
) -> AsyncIterator[list[Any]]:
    """Yield each page's `_items`, calling `fetch(marker)` (None first) until no next marker."""
    marker: str | None = None
    while True:
        page = await fetch(marker)
        items = page_items(page)
        yield items
        marker = next_marker(page)
        if marker is None or not items:
            return


async def skip_pages(
    fetch: Callable[[int], Awaitable[list[Any]]], select: int
) -> AsyncIterator[list[Any]]:
    """Yield pages from `fetch(skip)` until one holds fewer than `select` rows."""
    skip = 0
    while True:
        rows = await fetch(skip)
        yield rows
        if len(rows) < select:
            return
        skip += len(rows)


def page_items(page: V3Page) -> list[Any]:
    """The `_items` of a v3 page (empty when missing or malformed)."""
    items = page.get("_items")
    return items if isinstance(items, list) else []


def next_marker(page: V3Page) -> str | None:
    """The `_links.next.marker` of a v3 page, if there is a next page."""
    links = page.get("_links")
    following = links.get("next") if isinstance(links, dict) else None
    marker = following.get("marker") if isinstance(following, dict) else None
    return marker if isinstance(marker, str) and marker else None
