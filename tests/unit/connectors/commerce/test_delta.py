"""Delta reads by updated_at: overlap, ascending order, each version once across pages and runs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.commerce.auth import BearerAuth
from connectors.commerce.client import CommerceClient
from connectors.commerce.delta import (
    DeltaCheckpoint,
    DeltaPage,
    DeltaTracker,
    EntityKey,
    delta_criteria,
    delta_pages,
)
from connectors.commerce.pagination import SearchResult
from connectors.commerce.search import SearchCriteria
from connectors.errors import FatalError
from tests.support.fakecommerce import FakeCommerce

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def order(entity_id: int, seconds: int) -> dict[str, Any]:
    return {"entity_id": entity_id, "increment_id": f"{entity_id:09d}", "updated_at": at(seconds)}


# --- pure parts ----------------------------------------------------------------------------------


def test_tracker_admits_each_version_once_and_raises_the_watermark() -> None:
    tracker = DeltaTracker(overlap=MINUTE, id_field="entity_id")

    first = tracker.admit([order(1, 0), order(2, 0)])
    again = tracker.admit([order(2, 0), order(1, 5), order(3, 5)])

    assert [o["entity_id"] for o in first] == [1, 2]
    assert [(o["entity_id"], o["updated_at"]) for o in again] == [(1, at(5)), (3, at(5))]
    assert tracker.watermark == T0 + timedelta(seconds=5)


def test_tracker_forgets_versions_below_the_overlap_window() -> None:
    tracker = DeltaTracker(overlap=timedelta(seconds=10), id_field="entity_id")

    tracker.admit([order(1, 0), order(2, 9), order(3, 20)])

    assert tracker.checkpoint() == DeltaCheckpoint(
        T0 + timedelta(seconds=20), frozenset({("3", at(20))})
    )


def test_ids_sent_as_strings_or_numbers_are_one_entity() -> None:
    tracker = DeltaTracker(overlap=MINUTE, id_field="entity_id")
    tracker.admit([order(1, 0)])

    assert tracker.admit([{"entity_id": "1", "updated_at": at(0)}]) == []


def test_checkpoint_round_trips_through_json_form() -> None:
    checkpoint = DeltaCheckpoint(T0, frozenset({("7", at(0)), ("3", at(0))}))

    stored = checkpoint.as_dict()

    assert stored == {"watermark": at(0), "seen": [["3", at(0)], ["7", at(0)]]}
    assert DeltaCheckpoint.from_dict(stored) == checkpoint
    assert DeltaCheckpoint.from_dict({"watermark": None}) == DeltaCheckpoint()


@pytest.mark.parametrize("stored", [{"watermark": 5}, {"watermark": None, "seen": [["1"]]}])
def test_malformed_checkpoints_are_refused(stored: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        DeltaCheckpoint.from_dict(stored)


def test_delta_criteria_filters_from_the_lower_bound_and_sorts_ascending_with_a_tie_breaker() -> (
    None
):
    criteria = delta_criteria(
        T0 - MINUTE,
        page=2,
        page_size=50,
        tie_breaker="entity_id",
        base=SearchCriteria().where("store_id", "eq", 1),
    )

    assert criteria.params() == {
        "searchCriteria[filter_groups][0][filters][0][field]": "store_id",
        "searchCriteria[filter_groups][0][filters][0][value]": "1",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "eq",
        "searchCriteria[filter_groups][1][filters][0][field]": "updated_at",
        "searchCriteria[filter_groups][1][filters][0][value]": "2026-11-26 09:59:00",
        "searchCriteria[filter_groups][1][filters][0][condition_type]": "gteq",
        "searchCriteria[sortOrders][0][field]": "updated_at",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[sortOrders][1][field]": "entity_id",
        "searchCriteria[sortOrders][1][direction]": "ASC",
        "searchCriteria[pageSize]": "50",
        "searchCriteria[currentPage]": "2",
    }


def test_delta_criteria_refuses_a_base_with_its_own_sort() -> None:
    with pytest.raises(ValueError):
        delta_criteria(T0, page=1, page_size=10, tie_breaker=None, base=SearchCriteria().sort("x"))


async def test_rows_out_of_updated_at_order_are_fatal() -> None:
    async def unsorted(criteria: SearchCriteria) -> SearchResult:
        return SearchResult([order(1, 9), order(2, 3)], 2)

    with pytest.raises(FatalError, match="ascending"):
        [
            page
            async for page in delta_pages(
                unsorted,
                T0,
                overlap=MINUTE,
                page_size=10,
                key=EntityKey("entity_id", "entity_id"),
            )
        ]


async def test_a_row_without_updated_at_is_fatal() -> None:
    tracker = DeltaTracker(overlap=MINUTE, id_field="entity_id")

    with pytest.raises(FatalError, match="updated_at"):
        tracker.admit([{"entity_id": 1}])


# --- the client against a store that answers like Commerce --------------------------------------


@pytest.fixture
def store() -> FakeCommerce:
    rows = (
        [order(i, 0) for i in range(1, 26)]  # 25 orders saved within one second
        + [order(i, 5) for i in range(26, 31)]
        + [order(i, 60) for i in range(31, 34)]
    )
    random.Random(4).shuffle(rows)  # the table's own order must not matter
    fake = FakeCommerce()
    fake.tables["orders"] = rows
    return fake


def client(store: FakeCommerce) -> CommerceClient:
    return CommerceClient(
        "https://shop.example.com",
        auth=BearerAuth(SecretStr("integration-token")),
        transport=store.transport(),
    )


async def read(
    store: FakeCommerce, since: datetime | DeltaCheckpoint, *, page_size: int = 10
) -> list[DeltaPage]:
    async with client(store) as commerce:
        return [page async for page in commerce.iter_delta("/V1/orders", since, MINUTE, page_size)]


def versions(pages: list[DeltaPage]) -> list[tuple[int, str]]:
    return [(item["entity_id"], item["updated_at"]) for page in pages for item in page.items]


async def test_a_delta_read_yields_every_row_once_across_pages_sharing_one_second(
    store: FakeCommerce,
) -> None:
    pages = await read(store, T0 - MINUTE)

    seen = versions(pages)
    assert [v[0] for v in seen] == list(range(1, 34))
    assert pages[-1].checkpoint.watermark == T0 + MINUTE
    first = store.calls("/V1/orders")[0].url.params
    assert first["searchCriteria[filter_groups][0][filters][0][value]"] == "2026-11-26 09:59:00"
    assert first["searchCriteria[sortOrders][0][direction]"] == "ASC"
    assert first["searchCriteria[sortOrders][1][field]"] == "entity_id"


async def test_a_resumed_run_rereads_the_overlap_but_yields_only_new_versions(
    store: FakeCommerce,
) -> None:
    checkpoint = (await read(store, T0 - MINUTE))[-1].checkpoint
    store.tables["orders"] += [order(i, 60) for i in range(34, 38)]  # same second as the watermark
    next(o for o in store.tables["orders"] if o["entity_id"] == 3)["updated_at"] = at(90)
    calls_before = len(store.calls("/V1/orders"))

    pages = await read(store, DeltaCheckpoint.from_dict(checkpoint.as_dict()))

    assert versions(pages) == [(34, at(60)), (35, at(60)), (36, at(60)), (37, at(60)), (3, at(90))]
    resumed = store.calls("/V1/orders")[calls_before].url.params
    assert resumed["searchCriteria[filter_groups][0][filters][0][value]"] == at(
        0
    )  # watermark - overlap


async def test_a_run_killed_after_one_page_resumes_without_duplicates_or_gaps(
    store: FakeCommerce,
) -> None:
    async with client(store) as commerce:
        pages = commerce.iter_delta("/V1/orders", T0 - MINUTE, MINUTE, 10)
        first = await anext(pages)  # the worker dies here, after storing this page's checkpoint

    rest = await read(store, first.checkpoint)

    assert [v[0] for v in versions([first, *rest])] == list(range(1, 34))


async def test_rows_saved_while_reading_do_not_hide_the_rows_behind_them() -> None:
    # Offset paging would skip order 3 here: order 1 moves to the end after page 1,
    # so every later row shifts one place towards the front.
    store = FakeCommerce()
    store.tables["orders"] = [order(i, i) for i in range(1, 7)]

    def save_order_1(fake: FakeCommerce, search: int) -> None:
        if search == 2:
            fake.tables["orders"][0]["updated_at"] = at(30)

    store.on_search = save_order_1

    seen = versions(await read(store, T0, page_size=2))

    assert [v[0] for v in seen] == [1, 2, 3, 4, 5, 6, 1]
    assert seen[-1] == (1, at(30))


async def test_an_empty_delta_yields_nothing(store: FakeCommerce) -> None:
    assert await read(store, T0 + timedelta(hours=1)) == []
