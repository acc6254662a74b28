"""The base of inbound Commerce bodies and the loose wire types they are read with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from schemas.commerce.numbers import MONEY, QUANTITY, Column, read_number, shown, whole, within
from schemas.moments import as_utc


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _read(value: Any, what: str) -> Decimal | None:
    """The number in a numeric field: None (absent, or an object or list for pydantic to name);
    booleans and text that is no plain ASCII decimal ("1_000", Arabic-Indic digits) refused."""
    if isinstance(value, bool):
        raise ValueError(f"a boolean is not {what}")
    number = read_number(value)
    if number is None and isinstance(value, str):
        raise ValueError(f"{shown(value)!r} is not {what}")
    return number


def _id(value: Any) -> Any:
    """Commerce writes "no id" as null, "", 0 or "0.0000"; an id is a whole number up to
    `MAX_ID`. Anything that is no number goes on for pydantic to name what is wrong with it."""
    value = _blank_to_none(value)
    number = _read(value, "an id")
    if number is None:
        return value
    ident = whole(number, value)
    return None if ident == 0 else ident


def read_id(value: Any) -> int | None:
    """The id `value` writes, or None for no id and for anything that cannot be one (NaN,
    Infinity, 1e999999999, negative, fractions, larger than Commerce's ids)."""
    try:
        ident = _id(value)
    except ValueError:
        return None
    return ident if isinstance(ident, int) else None


def _code(value: Any) -> Any:
    """A small whole number (store, website, group, a status): 0 up to `MAX_ID`."""
    value = _blank_to_none(value)
    number = _read(value, "a number")
    return value if number is None else whole(number, value)


def _in(column: Column, *, signed: bool) -> Callable[[Any], Any]:
    """Money and quantities as `column` holds them: absent means zero, floats read as written."""

    def bounded(value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return Decimal(0)
        number = _read(value, "an amount")
        return value if number is None else within(number, value, column, signed=signed)

    return bounded


def _flag(value: Any) -> Any:
    """Booleans arrive as true, 1, "1", "0", "" or null; pydantic's lax bool reads the rest."""
    value = _blank_to_none(value)
    return False if value is None else value.strip() if isinstance(value, str) else value


def _no_zero_date(value: Any) -> Any:
    value = _blank_to_none(value)
    return None if isinstance(value, str) and value.startswith("0000-00-00") else value


def _as_utc(value: datetime | None) -> datetime | None:
    """Commerce dates carry no zone and are UTC; zoned ISO dates are converted to UTC."""
    return None if value is None else as_utc(value)


Id = Annotated[int, BeforeValidator(_id)]
OptionalId = Annotated[int | None, BeforeValidator(_id)]
Code = Annotated[int, BeforeValidator(_code)]
OptionalInt = Annotated[int | None, BeforeValidator(_code)]
# Money (decimal(20,4)) that may be negative: discounts are, adjustments may be.
Amount = Annotated[Decimal, BeforeValidator(_in(MONEY, signed=True))]
# Money that cannot be negative: grand totals, subtotals, what was paid or refunded.
Total = Annotated[Decimal, BeforeValidator(_in(MONEY, signed=False))]
Quantity = Annotated[Decimal, BeforeValidator(_in(QUANTITY, signed=False))]
Flag = Annotated[bool, BeforeValidator(_flag)]
Text = Annotated[str | None, BeforeValidator(_blank_to_none)]
Timestamp = Annotated[datetime | None, BeforeValidator(_no_zero_date), AfterValidator(_as_utc)]


class CommercePayload(BaseModel):
    """Base for inbound Commerce bodies: loose scalars, unknown fields ignored, immutable."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )


def as_list(value: Any) -> Any:
    """PHP serialises an empty or id-keyed array as `[]`, `{}` or `{"12": {...}}`."""
    if value is None:
        return []
    return list(value.values()) if isinstance(value, dict) else value


def entries(value: Any) -> list[Any]:
    """The entries of a PHP array to look through; anything that is no array has none."""
    if isinstance(value, dict):
        return list(value.values())
    return value if isinstance(value, list) else []


def member(value: Any, name: str) -> Any:
    """`value[name]` when `value` is an object, else None: a wrongly typed parent is absent."""
    return value.get(name) if isinstance(value, Mapping) else None
