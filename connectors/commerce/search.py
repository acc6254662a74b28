"""Commerce `searchCriteria`: filter groups (AND) of filters (OR), sort orders and paging, as query params."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

Scalar = str | int | float | datetime
Value = Scalar | Iterable[Scalar] | None

_PREFIX = "searchCriteria"
COMMERCE_TIME = "%Y-%m-%d %H:%M:%S"


class Condition(StrEnum):
    """Every `condition_type` the REST API accepts."""

    EQ = "eq"
    NEQ = "neq"
    GT = "gt"
    GTEQ = "gteq"
    LT = "lt"
    LTEQ = "lteq"
    IN = "in"
    NIN = "nin"
    LIKE = "like"
    NULL = "null"
    NOTNULL = "notnull"
    FROM = "from"
    TO = "to"
    FINSET = "finset"


class Direction(StrEnum):
    """Sort direction; always sent, because Commerce sorts DESC when none is given."""

    ASC = "ASC"
    DESC = "DESC"


_LISTS = {Condition.IN, Condition.NIN}
_NO_VALUE = {Condition.NULL, Condition.NOTNULL}


@dataclass(frozen=True)
class Filter:
    """One `field condition value` test; the value is already in its wire form."""

    field: str
    value: str
    condition: Condition = Condition.EQ

    @classmethod
    def of(cls, field: str, condition: Condition | str, value: Value = None) -> Filter:
        """Build a filter, turning lists (in/nin), datetimes, numbers and bools into wire text."""
        kind = Condition(condition)
        return cls(field, wire_value(kind, value), kind)


@dataclass(frozen=True)
class SortOrder:
    """One sort key with an explicit direction."""

    field: str
    direction: Direction


@dataclass(frozen=True)
class SearchCriteria:
    """An immutable search: every builder method returns a new criteria."""

    filter_groups: tuple[tuple[Filter, ...], ...] = ()
    sort_orders: tuple[SortOrder, ...] = ()
    page_size: int | None = None
    current_page: int | None = None

    def where(self, field: str, condition: Condition | str, value: Value = None) -> SearchCriteria:
        """AND one more condition (a filter group of its own)."""
        return self.any_of(Filter.of(field, condition, value))

    def any_of(self, *filters: Filter) -> SearchCriteria:
        """AND a group whose filters are OR-ed together."""
        if not filters:
            raise ValueError("a filter group needs at least one filter")
        return replace(self, filter_groups=(*self.filter_groups, tuple(filters)))

    def between(self, field: str, low: Scalar, high: Scalar) -> SearchCriteria:
        """`from`/`to` as two groups: in one group Commerce would OR them."""
        return self.where(field, Condition.FROM, low).where(field, Condition.TO, high)

    def sort(self, field: str, direction: Direction | str = Direction.ASC) -> SearchCriteria:
        """Append a sort key (ASC unless told; it is always sent explicitly)."""
        order = SortOrder(field, Direction(direction.upper()))
        return replace(self, sort_orders=(*self.sort_orders, order))

    def page(self, size: int, current: int = 1) -> SearchCriteria:
        """Set `pageSize` and the 1-based `currentPage`."""
        if size < 1 or current < 1:
            raise ValueError("page size and current page start at 1")
        return replace(self, page_size=size, current_page=current)

    def params(self) -> dict[str, str]:
        """The flat `searchCriteria[…]` query parameters, in a stable order."""
        params: dict[str, str] = {}
        for g, group in enumerate(self.filter_groups):
            for f, item in enumerate(group):
                key = f"{_PREFIX}[filter_groups][{g}][filters][{f}]"
                params[f"{key}[field]"] = item.field
                params[f"{key}[value]"] = item.value
                params[f"{key}[condition_type]"] = item.condition.value
        for s, order in enumerate(self.sort_orders):
            params[f"{_PREFIX}[sortOrders][{s}][field]"] = order.field
            params[f"{_PREFIX}[sortOrders][{s}][direction]"] = order.direction.value
        if self.page_size is not None:
            params[f"{_PREFIX}[pageSize]"] = str(self.page_size)
        if self.current_page is not None:
            params[f"{_PREFIX}[currentPage]"] = str(self.current_page)
        if not params:
            # Without any searchCriteria parameter Commerce answers 400; an empty one lists all.
            params[f"{_PREFIX}"] = ""
        return params


def commerce_time(moment: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` in UTC, the way Commerce stores and compares timestamps."""
    if moment.tzinfo is None:
        raise ValueError("datetimes sent to Commerce must be timezone-aware")
    return moment.astimezone(UTC).strftime(COMMERCE_TIME)


def parse_commerce_time(text: str) -> datetime:
    """A Commerce `YYYY-MM-DD HH:MM:SS` (UTC, no zone) as an aware datetime."""
    return datetime.strptime(text.strip(), COMMERCE_TIME).replace(tzinfo=UTC)


def wire_value(condition: Condition, value: Value) -> str:
    """The text Commerce expects for `value` under `condition`."""
    if condition in _NO_VALUE and value is None:
        # The value is ignored, but the web API rejects a filter without one.
        return "1"
    if value is None:
        raise ValueError(f"condition {condition.value} needs a value")
    if condition in _LISTS:
        items = [value] if isinstance(value, str | int | float | datetime) else list(value)
        if not items:
            raise ValueError(f"condition {condition.value} needs at least one value")
        return ",".join(_scalar(item) for item in items)
    if not isinstance(value, str | int | float | datetime):
        raise ValueError(f"condition {condition.value} takes one value, not a list")
    return _scalar(value)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return commerce_time(value)
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"unsupported filter value type {type(value).__name__}")
