"""searchCriteria: every condition and sort as flat query params, and what Commerce does with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from pydantic import SecretStr

from connectors.commerce.auth import BearerAuth
from connectors.commerce.client import CommerceClient
from connectors.commerce.search import (
    Condition,
    Direction,
    Filter,
    SearchCriteria,
    parse_commerce_time,
)
from tests.support.fakecommerce import FakeCommerce

CET = timezone(timedelta(hours=1))
G0F0 = "searchCriteria[filter_groups][0][filters][0]"


@pytest.mark.parametrize(
    ("condition", "value", "wire"),
    [
        (Condition.EQ, "processing", "processing"),
        (Condition.NEQ, "canceled", "canceled"),
        (Condition.GT, 100, "100"),
        (Condition.GTEQ, 99.5, "99.5"),
        (Condition.LT, "2026-01-01 00:00:00", "2026-01-01 00:00:00"),
        (Condition.LTEQ, 3, "3"),
        (Condition.IN, ["new", "processing"], "new,processing"),
        (Condition.NIN, (1, 2, 3), "1,2,3"),
        (Condition.LIKE, "%@example.com", "%@example.com"),
        (Condition.NULL, None, "1"),
        (Condition.NOTNULL, None, "1"),
        (Condition.FROM, datetime(2026, 11, 26, 11, 15, 2, tzinfo=CET), "2026-11-26 10:15:02"),
        (Condition.TO, datetime(2026, 11, 27, tzinfo=UTC), "2026-11-27 00:00:00"),
        (Condition.FINSET, 42, "42"),
    ],
    ids=lambda v: v.value if isinstance(v, Condition) else None,
)
def test_every_condition_becomes_field_value_and_condition_type(
    condition: Condition, value: object, wire: str
) -> None:
    params = SearchCriteria().where("status", condition, value).params()  # type: ignore[arg-type]

    assert params == {
        f"{G0F0}[field]": "status",
        f"{G0F0}[value]": wire,
        f"{G0F0}[condition_type]": condition.value,
    }


def test_conditions_given_as_text_are_accepted() -> None:
    assert SearchCriteria().where("qty", "gteq", 1).params()[f"{G0F0}[condition_type]"] == "gteq"


def test_where_ands_groups_and_any_of_ors_filters_within_one_group() -> None:
    criteria = (
        SearchCriteria()
        .any_of(Filter.of("email", "like", "%@a.com"), Filter.of("email", "like", "%@b.com"))
        .where("store_id", "eq", 1)
    )

    assert criteria.params() == {
        f"{G0F0}[field]": "email",
        f"{G0F0}[value]": "%@a.com",
        f"{G0F0}[condition_type]": "like",
        "searchCriteria[filter_groups][0][filters][1][field]": "email",
        "searchCriteria[filter_groups][0][filters][1][value]": "%@b.com",
        "searchCriteria[filter_groups][0][filters][1][condition_type]": "like",
        "searchCriteria[filter_groups][1][filters][0][field]": "store_id",
        "searchCriteria[filter_groups][1][filters][0][value]": "1",
        "searchCriteria[filter_groups][1][filters][0][condition_type]": "eq",
    }


def test_between_puts_from_and_to_in_separate_groups_so_they_are_anded() -> None:
    params = SearchCriteria().between("grand_total", 10, 20).params()

    assert params[f"{G0F0}[condition_type]"] == "from"
    assert params["searchCriteria[filter_groups][1][filters][0][condition_type]"] == "to"


def test_sort_orders_always_carry_an_explicit_direction() -> None:
    criteria = (
        SearchCriteria().sort("updated_at").sort("entity_id", Direction.DESC).sort("sku", "asc")
    )

    assert criteria.params() == {
        "searchCriteria[sortOrders][0][field]": "updated_at",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[sortOrders][1][field]": "entity_id",
        "searchCriteria[sortOrders][1][direction]": "DESC",
        "searchCriteria[sortOrders][2][field]": "sku",
        "searchCriteria[sortOrders][2][direction]": "ASC",
    }


def test_page_sets_page_size_and_current_page() -> None:
    assert SearchCriteria().page(50, 3).params() == {
        "searchCriteria[pageSize]": "50",
        "searchCriteria[currentPage]": "3",
    }


def test_empty_criteria_still_sends_search_criteria_because_commerce_requires_it() -> None:
    assert SearchCriteria().params() == {"searchCriteria": ""}


def test_builder_never_mutates_the_criteria_it_started_from() -> None:
    base = SearchCriteria().where("state", "eq", "new")

    base.sort("created_at").page(10)

    assert base == SearchCriteria().where("state", "eq", "new")


@pytest.mark.parametrize(
    ("condition", "value"),
    [
        (Condition.EQ, None),
        (Condition.IN, []),
        (Condition.EQ, ["a", "b"]),
        (Condition.GT, datetime(2026, 1, 1)),  # naive: whose midnight?
    ],
)
def test_values_that_cannot_mean_anything_are_refused(condition: Condition, value: object) -> None:
    with pytest.raises(ValueError):
        SearchCriteria().where("x", condition, value)  # type: ignore[arg-type]


def test_bools_are_sent_as_commerce_flags() -> None:
    assert SearchCriteria().where("is_active", "eq", True).params()[f"{G0F0}[value]"] == "1"


def test_commerce_timestamps_parse_as_utc() -> None:
    assert parse_commerce_time("2026-11-26 10:15:02") == datetime(
        2026, 11, 26, 10, 15, 2, tzinfo=UTC
    )


# --- against a store that answers like Commerce --------------------------------------------------


@pytest.fixture
def store() -> FakeCommerce:
    fake = FakeCommerce()
    fake.tables["orders"] = [
        {"entity_id": 1, "state": "new", "grand_total": 10.0, "customer_email": "a@x.com",
         "customer_id": None, "created_at": "2026-11-26 10:00:01", "tags": "1,2"},
        {"entity_id": 2, "state": "processing", "grand_total": 25.5, "customer_email": "b@y.com",
         "customer_id": 7, "created_at": "2026-11-26 10:00:03", "tags": "2"},
        {"entity_id": 3, "state": "complete", "grand_total": 99.0, "customer_email": "c@x.com",
         "customer_id": 8, "created_at": "2026-11-26 10:00:02", "tags": "3,4"},
        {"entity_id": 4, "state": "canceled", "grand_total": 5.0, "customer_email": "d@z.com",
         "customer_id": None, "created_at": "2026-11-26 10:00:04", "tags": ""},
    ]  # fmt: skip
    return fake


async def ids(store: FakeCommerce, criteria: SearchCriteria) -> list[int]:
    async with CommerceClient(
        "https://shop.example.com",
        auth=BearerAuth(SecretStr("integration-token")),
        transport=store.transport(),
    ) as client:
        result = await client.orders(criteria)
    return [item["entity_id"] for item in result.items]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (SearchCriteria().where("state", "eq", "new"), [1]),
        (SearchCriteria().where("state", "neq", "new"), [2, 3, 4]),
        (SearchCriteria().where("grand_total", "gt", 10), [2, 3]),
        (SearchCriteria().where("grand_total", "gteq", 10), [1, 2, 3]),
        (SearchCriteria().where("grand_total", "lt", 10), [4]),
        (SearchCriteria().where("grand_total", "lteq", 10), [1, 4]),
        (SearchCriteria().where("state", "in", ["new", "complete"]), [1, 3]),
        (SearchCriteria().where("state", "nin", ["new", "complete"]), [2, 4]),
        (SearchCriteria().where("customer_email", "like", "%@x.com"), [1, 3]),
        (SearchCriteria().where("customer_id", "null"), [1, 4]),
        (SearchCriteria().where("customer_id", "notnull"), [2, 3]),
        (SearchCriteria().between("grand_total", 10, 30), [1, 2]),
        (SearchCriteria().where("tags", "finset", 2), [1, 2]),
        (
            SearchCriteria()
            .any_of(Filter.of("state", "eq", "new"), Filter.of("grand_total", "gt", 50))
            .where("customer_email", "like", "%x.com"),
            [1, 3],
        ),
    ],
    ids=lambda v: str(v.filter_groups[0][0].condition) if isinstance(v, SearchCriteria) else None,
)
async def test_the_store_applies_each_condition(
    store: FakeCommerce, criteria: SearchCriteria, expected: list[int]
) -> None:
    assert await ids(store, criteria.sort("entity_id")) == expected


async def test_a_sort_sent_without_direction_would_come_back_descending(
    store: FakeCommerce,
) -> None:
    bare = {**SearchCriteria().params(), "searchCriteria[sortOrders][0][field]": "created_at"}
    async with httpx.AsyncClient(transport=store.transport()) as raw:
        response = await raw.get(
            "https://shop.example.com/rest/default/V1/orders",
            params=bare,
            headers={"Authorization": "Bearer integration-token"},
        )

    assert [item["entity_id"] for item in response.json()["items"]] == [4, 2, 3, 1]


async def test_our_sorts_come_back_ascending_because_the_direction_is_sent(
    store: FakeCommerce,
) -> None:
    assert await ids(store, SearchCriteria().sort("created_at")) == [1, 3, 2, 4]
