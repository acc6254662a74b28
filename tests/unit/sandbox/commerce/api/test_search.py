"""searchCriteria as Commerce reads it: every condition type, groups and filters, sorting, paging."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.commerce.api.search import (
    Filter,
    SearchCriteria,
    SearchCriteriaError,
    SortOrder,
    matches,
    parse,
    search,
)

ROWS: list[dict[str, Any]] = [
    {"entity_id": 1, "email": "ada@example.com", "total": 10.5, "state": "new",
     "updated_at": "2026-11-26 09:00:00", "tags": "a,b", "coupon": None},
    {"entity_id": 2, "email": "Grace@Example.com", "total": 99, "state": "complete",
     "updated_at": "2026-11-26 09:00:00", "tags": "b", "coupon": "X"},
    {"entity_id": 3, "email": "alan@example.org", "total": 42, "state": "processing",
     "updated_at": "2026-11-27 10:00:00", "tags": "", "coupon": None},
    {"entity_id": 4, "email": "edsger@example.com", "total": 7, "state": "closed",
     "updated_at": "2026-11-28 11:30:00", "tags": "c,a", "coupon": "Y"},
    {"entity_id": 5, "email": "barbara@example.net", "total": 42.0, "state": "canceled",
     "updated_at": "2026-11-29 08:00:00", "tags": "c", "coupon": None},
]  # fmt: skip


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["entity_id"] for row in rows]


def find(*groups: tuple[Filter, ...], **criteria: Any) -> list[int]:
    page, _ = search(ROWS, SearchCriteria(filter_groups=groups, **criteria), lambda row: row)
    return ids(page)


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        ("eq", "42", [3, 5]),
        ("neq", "42", [1, 2, 4]),
        ("gt", "42", [2]),
        ("gteq", "42", [2, 3, 5]),
        ("lt", "10.5", [4]),
        ("lteq", "10.5", [1, 4]),
        ("in", "7, 99", [2, 4]),
        ("nin", "7,99", [1, 3, 5]),
        ("from", "10.5", [2, 3, 5, 1]),
        ("to", "10.5", [1, 4]),
    ],
)
def test_numeric_conditions(condition: str, value: str, expected: list[int]) -> None:
    assert sorted(find((Filter("total", value, condition),))) == sorted(expected)


def test_text_conditions_are_case_insensitive_like_mysql() -> None:
    assert find((Filter("email", "grace@example.com", "eq"),)) == [2]
    assert find((Filter("email", "%@example.com", "like"),)) == [1, 2, 4]
    assert find((Filter("email", "a_a%", "like"),)) == [1, 3]
    assert find((Filter("email", "%example.com", "nlike"),)) == [3, 5]
    assert find((Filter("updated_at", "2026-11-27 00:00:00", "gteq"),)) == [3, 4, 5]


def test_null_notnull_and_neq_skipping_nulls() -> None:
    assert find((Filter("coupon", "", "null"),)) == [1, 3, 5]
    assert find((Filter("coupon", "", "notnull"),)) == [2, 4]
    assert find((Filter("coupon", "X", "neq"),)) == [4], "NULL <> 'X' is not true in SQL"
    assert find((Filter("missing_field", "1", "eq"),)) == []


def test_finset_finds_a_value_in_a_comma_separated_column() -> None:
    assert find((Filter("tags", "a", "finset"),)) == [1, 4]
    assert matches({"tags": "a,b"}, Filter("tags", "b", "finset"))


def test_filters_in_a_group_are_or_and_groups_are_and() -> None:
    either = (Filter("state", "new", "eq"), Filter("state", "closed", "eq"))
    assert find(either) == [1, 4]
    assert find(either, (Filter("total", "10", "gt"),)) == [1]


def test_from_and_to_in_two_groups_make_a_range() -> None:
    window = (
        (Filter("updated_at", "2026-11-26 09:00:00", "from"),),
        (Filter("updated_at", "2026-11-27 23:59:59", "to"),),
    )
    assert find(*window) == [1, 2, 3]


def test_sort_is_descending_unless_asked_otherwise_and_stable() -> None:
    assert find(sort_orders=(SortOrder("total"),)) == [2, 3, 5, 1, 4]
    assert find(sort_orders=(SortOrder("total", "ASC"),)) == [4, 1, 3, 5, 2]
    by_time = (SortOrder("updated_at", "ASC"), SortOrder("entity_id", "DESC"))
    assert find(sort_orders=by_time) == [2, 1, 3, 4, 5]


def test_paging_is_one_based_and_a_page_past_the_end_repeats_the_last() -> None:
    asc = (SortOrder("entity_id", "ASC"),)
    assert find(sort_orders=asc, page_size=2, current_page=1) == [1, 2]
    assert find(sort_orders=asc, page_size=2, current_page=3) == [5]
    assert find(sort_orders=asc, page_size=2, current_page=4) == [5]
    assert find(sort_orders=asc, page_size=2, current_page=99) == [5]
    page, total = search(ROWS, SearchCriteria(page_size=2, current_page=9), lambda r: r)
    assert total == 5 and ids(page) == [5]


def test_no_page_size_returns_everything() -> None:
    assert find(current_page=3) == [1, 2, 3, 4, 5]


def test_parser_reads_the_query_string_and_echoes_it() -> None:
    query = [
        ("searchCriteria[filter_groups][0][filters][0][field]", "state"),
        ("searchCriteria[filter_groups][0][filters][0][value]", "new"),
        ("searchCriteria[filter_groups][0][filters][1][field]", "state"),
        ("searchCriteria[filter_groups][0][filters][1][value]", "closed"),
        ("searchCriteria[filter_groups][0][filters][1][condition_type]", "EQ"),
        ("searchCriteria[filter_groups][1][filters][0][field]", "total"),
        ("searchCriteria[filter_groups][1][filters][0][value]", "5"),
        ("searchCriteria[filter_groups][1][filters][0][condition_type]", "gt"),
        ("searchCriteria[sortOrders][0][field]", "total"),
        ("searchCriteria[pageSize]", "1"),
        ("searchCriteria[currentPage]", "2"),
        ("unrelated", "ignored"),
    ]
    criteria = parse(query)
    assert criteria.echo() == {
        "filter_groups": [
            {"filters": [
                {"field": "state", "value": "new", "condition_type": "eq"},
                {"field": "state", "value": "closed", "condition_type": "eq"},
            ]},
            {"filters": [{"field": "total", "value": "5", "condition_type": "gt"}]},
        ],
        "sort_orders": [{"field": "total", "direction": "DESC"}],
        "page_size": 1,
        "current_page": 2,
    }  # fmt: skip
    page, total = search(ROWS, criteria, lambda row: row)
    assert (ids(page), total) == ([4], 2)


def test_parser_refuses_unknown_conditions_and_filters_without_a_field() -> None:
    with pytest.raises(SearchCriteriaError):
        parse([("searchCriteria[filter_groups][0][filters][0][value]", "x")])
    with pytest.raises(SearchCriteriaError):
        parse(
            [
                ("searchCriteria[filter_groups][0][filters][0][field]", "state"),
                ("searchCriteria[filter_groups][0][filters][0][condition_type]", "regexp"),
            ]
        )
    with pytest.raises(SearchCriteriaError):
        parse([("searchCriteria[pageSize]", "ten")])
