"""Paging stops on total_count, never on an empty page, since Commerce repeats the last page."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.commerce.auth import BearerAuth
from connectors.commerce.client import CommerceClient
from connectors.commerce.pagination import SearchResult, search_pages
from connectors.commerce.search import SearchCriteria
from connectors.errors import FatalError
from tests.support.fakecommerce import FakeCommerce


class Rows:
    """A search over `rows` paged like Commerce: a page past the end is the last page again."""

    def __init__(self, count: int, *, cap: int | None = None) -> None:
        self.rows: list[dict[str, Any]] = [{"entity_id": i} for i in range(1, count + 1)]
        self.cap = cap
        self.pages: list[int] = []
        self.size = 0

    async def fetch(self, page: int) -> SearchResult:
        self.pages.append(page)
        size = min(self.size, self.cap) if self.cap else self.size
        last = max(1, math.ceil(len(self.rows) / size))
        shown = min(page, last)
        return SearchResult(self.rows[(shown - 1) * size : shown * size], len(self.rows))

    async def read(self, size: int) -> list[int]:
        self.size = size
        return [
            item["entity_id"]
            async for result in search_pages(self.fetch, size)
            for item in result.items
        ]


@pytest.mark.parametrize(
    ("count", "size", "pages"), [(5, 2, [1, 2, 3]), (4, 2, [1, 2]), (0, 2, [1])]
)
async def test_paging_stops_on_total_count_and_never_asks_past_the_end(
    count: int, size: int, pages: list[int]
) -> None:
    rows = Rows(count)

    seen = await rows.read(size)

    assert seen == list(range(1, count + 1))
    assert rows.pages == pages


async def test_a_total_that_shrinks_mid_way_ends_without_the_repeated_last_page() -> None:
    rows = Rows(6)
    fetch = rows.fetch

    async def shrinking(page: int) -> SearchResult:
        if page == 3:
            del rows.rows[2:]  # four rows leave the result set: page 3 is now past the end
        return await fetch(page)

    rows.fetch = shrinking  # type: ignore[method-assign]
    seen = await rows.read(2)

    assert seen == [1, 2, 3, 4]  # not 1, 2 again from the repeated last page
    assert rows.pages == [1, 2, 3]


async def test_a_total_that_grows_mid_way_is_followed() -> None:
    rows = Rows(4)
    fetch = rows.fetch

    async def growing(page: int) -> SearchResult:
        if page == 2:
            rows.rows.append({"entity_id": 5})
        return await fetch(page)

    rows.fetch = growing  # type: ignore[method-assign]

    assert await rows.read(2) == [1, 2, 3, 4, 5]


async def test_a_page_identical_to_the_previous_one_is_taken_as_the_end() -> None:
    pages: list[int] = []

    async def lying(page: int) -> SearchResult:
        pages.append(page)
        # total_count claims 10 rows but only 2 exist: page 2 repeats page 1.
        return SearchResult([{"entity_id": 1}, {"entity_id": 2}], 10)

    seen = [r async for r in search_pages(lying, 2)]

    assert len(seen) == 1
    assert pages == [1, 2]


async def test_a_server_that_caps_page_size_is_fatal_rather_than_losing_rows() -> None:
    rows = Rows(10, cap=3)

    with pytest.raises(FatalError, match="pageSize 5"):
        await rows.read(5)


@pytest.mark.parametrize(
    "body",
    [[], {"items": [1], "total_count": 1}, {"items": []}, {"items": [], "total_count": "3"}],
)
def test_replies_of_the_wrong_shape_are_fatal(body: Any) -> None:
    with pytest.raises(FatalError):
        SearchResult.from_reply(body, "GET /V1/orders")


def test_null_items_on_an_empty_reply_read_as_no_items() -> None:
    assert SearchResult.from_reply({"items": None, "total_count": 0}, "x").items == []


# --- the client against a store that answers like Commerce --------------------------------------


def client(store: FakeCommerce) -> CommerceClient:
    return CommerceClient(
        "https://shop.example.com",
        auth=BearerAuth(SecretStr("integration-token")),
        transport=store.transport(),
    )


@pytest.fixture
def store() -> FakeCommerce:
    fake = FakeCommerce()
    fake.tables["orders"] = [{"entity_id": i, "state": "new"} for i in range(1, 8)]
    return fake


async def test_the_store_answers_a_page_past_the_end_with_the_last_page(
    store: FakeCommerce,
) -> None:
    async with client(store) as commerce:
        last = await commerce.orders(SearchCriteria().sort("entity_id").page(3, 3))
        beyond = await commerce.orders(SearchCriteria().sort("entity_id").page(3, 9))

    assert beyond == last
    assert [item["entity_id"] for item in beyond.items] == [7]


async def test_iter_search_yields_each_row_once_and_stops_on_total_count(
    store: FakeCommerce,
) -> None:
    async with client(store) as commerce:
        seen = [item["entity_id"] async for item in commerce.iter_search("/V1/orders", page_size=3)]

    pages = [r.url.params["searchCriteria[currentPage]"] for r in store.calls("/V1/orders")]
    assert seen == [1, 2, 3, 4, 5, 6, 7]
    assert pages == ["1", "2", "3"]


async def test_iter_search_sorts_by_id_ascending_when_the_criteria_has_no_sort(
    store: FakeCommerce,
) -> None:
    store.tables["orders"].reverse()
    async with client(store) as commerce:
        seen = [item["entity_id"] async for item in commerce.iter_search("/V1/orders", page_size=5)]

    params = store.calls("/V1/orders")[0].url.params
    assert seen == [1, 2, 3, 4, 5, 6, 7]
    assert params["searchCriteria[sortOrders][0][field]"] == "entity_id"
    assert params["searchCriteria[sortOrders][0][direction]"] == "ASC"


async def test_iter_search_keeps_the_callers_filters(store: FakeCommerce) -> None:
    store.tables["orders"][2]["state"] = "complete"
    criteria = SearchCriteria().where("state", "eq", "new").page(1, 5)  # paging is replaced
    async with client(store) as commerce:
        seen = [
            item["entity_id"]
            async for item in commerce.iter_search("/V1/orders", criteria, page_size=2)
        ]

    assert seen == [1, 2, 4, 5, 6, 7]


async def test_iter_search_errors_are_connector_errors(store: FakeCommerce) -> None:
    store.faults.append(httpx.Response(401, json={"message": "The consumer isn't authorized"}))
    async with client(store) as commerce:
        with pytest.raises(FatalError):
            [item async for item in commerce.iter_search("/V1/orders")]
