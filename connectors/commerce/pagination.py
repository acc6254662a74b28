"""Paging a Commerce search: stop on `total_count`, never on an empty page (past the end repeats)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from connectors.errors import FatalError

logger = logging.getLogger(__name__)

Item = dict[str, Any]


@dataclass(frozen=True)
class SearchResult:
    """One page of a search reply: `{"items": […], "total_count": N}`."""

    items: list[Item]
    total_count: int

    @classmethod
    def from_reply(cls, data: Any, where: str) -> SearchResult:
        """Validate a decoded reply; a broken shape means the API broke its contract (fatal)."""
        if not isinstance(data, dict):
            raise FatalError(f"{where}: search reply is not a JSON object")
        items = data.get("items") or []  # Commerce sends `"items": null` on some empty pages
        total = data.get("total_count")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise FatalError(f"{where}: search reply `items` is not a list of objects")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise FatalError(f"{where}: search reply has no usable total_count")
        return cls(items, total)


def is_last_page(page: int, page_size: int, total_count: int) -> bool:
    """Whether `page` holds the last rows: the only reliable end signal Commerce gives."""
    return page * page_size >= total_count


def is_past_end(page: int, page_size: int, total_count: int) -> bool:
    """Whether `page` starts beyond the rows, so Commerce answered with the last page again."""
    return page > 1 and (page - 1) * page_size >= total_count


def check_page(result: SearchResult, page: int, page_size: int, where: str) -> None:
    """A page before the last must be full, or the server capped pageSize and rows would be lost."""
    if not is_last_page(page, page_size, result.total_count) and len(result.items) != page_size:
        raise FatalError(
            f"{where}: page {page} holds {len(result.items)} rows for pageSize {page_size} "
            f"(total {result.total_count}); lower page_size to what the store allows"
        )


async def search_pages(
    fetch: Callable[[int], Awaitable[SearchResult]],
    page_size: int,
    *,
    where: str = "search",
) -> AsyncIterator[SearchResult]:
    """Yield pages from `fetch(current_page)` (1-based) until `total_count` says they are done.

    The end is judged on each reply's own `total_count`, so a total that grows mid-way is
    followed and one that shrinks ends the walk; a page that starts past the (new) end, or that
    repeats the previous page exactly, is the past-the-end repeat and is dropped. Offset paging
    cannot see rows that move while it walks; delta reads with an overlap make up for that.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    page = 1
    previous: list[Item] | None = None
    last_total: int | None = None
    while True:
        result = await fetch(page)
        total = result.total_count
        if last_total is not None and total != last_total:
            logger.info(
                "commerce total_count changed while paging",
                extra={"where": where, "page": page, "was": last_total, "now": total},
            )
        last_total = total
        if is_past_end(page, page_size, total) or (
            previous is not None and result.items == previous
        ):
            return
        check_page(result, page, page_size, where)
        yield result
        if is_last_page(page, page_size, total):
            return
        previous = result.items
        page += 1
