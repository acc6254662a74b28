"""Commerce's searchCriteria: the query-string parser, MySQL-like filtering, sorting and paging."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

T = TypeVar("T")
CONDITIONS = frozenset(
    {"eq", "neq", "gt", "gteq", "moreq", "lt", "lteq", "like", "nlike", "in", "nin", "null",
     "notnull", "from", "to", "finset"}
)  # fmt: skip
_FILTER = re.compile(
    r"^searchCriteria\[filter_groups\]\[(\d+)\]\[filters\]\[(\d+)\]\[(field|value|condition_type)\]$"
)
_SORT = re.compile(r"^searchCriteria\[sortOrders\]\[(\d+)\]\[(field|direction)\]$")
_NUMERIC = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_PAGING = re.compile(r"^searchCriteria\[(pageSize|currentPage)\]$")


class SearchCriteriaError(ValueError):
    """A searchCriteria Commerce would refuse; `field` names the offending parameter."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Filter:
    field: str
    value: str
    condition_type: str = "eq"


@dataclass(frozen=True)
class SortOrder:
    field: str
    direction: str = "DESC"  # Commerce's default, a trap for delta readers


@dataclass(frozen=True)
class SearchCriteria:
    filter_groups: tuple[tuple[Filter, ...], ...] = ()
    sort_orders: tuple[SortOrder, ...] = ()
    page_size: int | None = None
    current_page: int | None = None

    def echo(self) -> dict[str, Any]:
        """The `search_criteria` a response carries back."""
        echo: dict[str, Any] = {
            "filter_groups": [
                {"filters": [{"field": f.field, "value": f.value, "condition_type": f.condition_type}
                             for f in group]}
                for group in self.filter_groups
            ]
        }  # fmt: skip
        if self.sort_orders:
            echo["sort_orders"] = [
                {"field": s.field, "direction": s.direction} for s in self.sort_orders
            ]
        if self.page_size is not None:
            echo["page_size"] = self.page_size
        if self.current_page is not None:
            echo["current_page"] = self.current_page
        return echo


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SearchCriteriaError(
            f'Invalid value of "{value}" provided for the {name} field.', name
        ) from None


def parse(query: Iterable[tuple[str, str]]) -> SearchCriteria:
    """Read `searchCriteria[...]` parameters (others are ignored), in index order."""
    groups: dict[int, dict[int, dict[str, str]]] = {}
    sorts: dict[int, dict[str, str]] = {}
    paging: dict[str, int] = {}
    for key, value in query:
        if match := _FILTER.match(key):
            group, index, part = int(match[1]), int(match[2]), match[3]
            groups.setdefault(group, {}).setdefault(index, {})[part] = value
        elif match := _SORT.match(key):
            sorts.setdefault(int(match[1]), {})[match[2]] = value
        elif match := _PAGING.match(key):
            paging[match[1]] = _integer(value, match[1])
    filter_groups = []
    for _, filters in sorted(groups.items()):
        group_filters = []
        for _, parts in sorted(filters.items()):
            if not parts.get("field"):
                raise SearchCriteriaError('"field" is required. Enter and try again.', "field")
            condition = (parts.get("condition_type") or "eq").lower()
            if condition not in CONDITIONS:
                message = f'Invalid value of "{condition}" provided for the condition_type field.'
                raise SearchCriteriaError(message, "condition_type")
            group_filters.append(Filter(parts["field"], parts.get("value", ""), condition))
        filter_groups.append(tuple(group_filters))
    sort_orders = []
    for _, parts in sorted(sorts.items()):
        if parts.get("field"):
            direction = "ASC" if parts.get("direction", "").upper() == "ASC" else "DESC"
            sort_orders.append(SortOrder(parts["field"], direction))
    return SearchCriteria(
        tuple(filter_groups), tuple(sort_orders), paging.get("pageSize"), paging.get("currentPage")
    )


def _number(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool | int):
        return Decimal(int(value))
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and _NUMERIC.match(value):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


Target = tuple[Decimal | None, str]


def _target(text: str) -> Target:
    return _number(text), text.lower()


def _compare(value: Any, target: Target) -> int:
    """MySQL-ish: numbers numerically, everything else as case-insensitive text."""
    wanted_number, wanted_text = target
    number = _number(value) if wanted_number is not None else None
    if number is not None and wanted_number is not None:
        return (number > wanted_number) - (number < wanted_number)
    text = str(value).lower()
    return (text > wanted_text) - (text < wanted_text)


def _like(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE | re.DOTALL)


Row = Mapping[str, Any]
_ORDERED: dict[str, Callable[[int], bool]] = {
    "eq": lambda o: o == 0,
    "neq": lambda o: o != 0,
    "gt": lambda o: o > 0,
    "gteq": lambda o: o >= 0,
    "moreq": lambda o: o >= 0,
    "from": lambda o: o >= 0,
    "lt": lambda o: o < 0,
    "lteq": lambda o: o <= 0,
    "to": lambda o: o <= 0,
}


def compile_filter(condition: Filter) -> Callable[[Row], bool]:
    """A test of one row against one filter; like SQL, a NULL column passes only `null`."""
    field, kind, wanted = condition.field, condition.condition_type, condition.value
    if kind in ("null", "notnull"):
        return lambda row: (row.get(field) is None) == (kind == "null")
    if kind in ("in", "nin"):
        targets = [_target(item.strip()) for item in wanted.split(",")]

        def listed(value: Any) -> bool:
            return any(_compare(value, target) == 0 for target in targets)

        return _not_null(field, listed if kind == "in" else lambda value: not listed(value))
    if kind in ("like", "nlike"):
        pattern = _like(wanted)
        found = kind == "like"
        return _not_null(field, lambda value: (pattern.match(str(value)) is not None) == found)
    if kind == "finset":
        item = wanted.lower()
        return _not_null(
            field, lambda value: item in [v.strip().lower() for v in str(value).split(",")]
        )
    target, test = _target(wanted), _ORDERED[kind]
    return _not_null(field, lambda value: test(_compare(value, target)))


def _not_null(field: str, test: Callable[[Any], bool]) -> Callable[[Row], bool]:
    def check(row: Row) -> bool:
        value = row.get(field)
        return value is not None and test(value)

    return check


def matches(row: Row, condition: Filter) -> bool:
    """Whether `row` passes one filter."""
    return compile_filter(condition)(row)


def _sort_value(value: Any) -> tuple[Any, ...]:
    """NULL first, then numbers numerically, then text case-insensitively (ascending)."""
    if value is None:
        return (0,)
    number = _number(value)
    return (1, 0, number) if number is not None else (1, 1, str(value).lower())


def search(
    rows: Sequence[T], criteria: SearchCriteria, columns: Callable[[T], Row]
) -> tuple[list[T], int]:
    """(the page, total_count): groups AND, filters in a group OR, stable sort, and a page past
    the end answering the last page again; no pageSize means every row."""
    groups = [[compile_filter(f) for f in group] for group in criteria.filter_groups if group]
    kept = [
        (seen, row)
        for seen, row in ((columns(row), row) for row in rows)
        if all(any(test(seen) for test in group) for group in groups)
    ]
    for sort in reversed(criteria.sort_orders):  # stable sorts, last key first
        field = sort.field
        kept.sort(
            key=lambda pair: _sort_value(pair[0].get(field)), reverse=sort.direction == "DESC"
        )
    total = len(kept)
    size = criteria.page_size
    if not size or size <= 0:
        return [row for _, row in kept], total
    last_page = max(1, math.ceil(total / size))
    page = min(max(criteria.current_page or 1, 1), last_page)
    return [row for _, row in kept[(page - 1) * size : page * size]], total
