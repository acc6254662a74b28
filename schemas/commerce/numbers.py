"""Commerce's numbers bounded as its columns hold them: ids, money and quantities.

Every check reads the written digits (length, exponent, `Decimal.adjusted()`) before any
conversion that could take time: `int(Decimal("1e999999999"))` would never finish.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# Entity, store, website and group ids are `int(10) unsigned` columns in a stock store, but
# extensions and sharded setups widen them; 2^53 - 1 is the largest whole number every JSON
# reader keeps exact, and still bounds the work before any conversion.
MAX_ID = 2**53 - 1
_ID_DIGITS = len(str(MAX_ID))
# Integers wider than this are no Commerce number whatever the column; refused before Decimal().
_MAX_BITS = 128
# Text longer than this is no Commerce number (a full decimal(20,4) is written in 21 characters).
MAX_TEXT = 64
# An exponent written with more digits than this is refused before the text becomes a Decimal.
_MAX_EXPONENT_DIGITS = 4
_SHOWN = 40

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?(\d+))?", re.ASCII)
_NOT_FINITE = re.compile(r"[+-]?(?:inf(?:inity)?|s?nan\d*)", re.ASCII | re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    """A Commerce `decimal(precision, places)` column."""

    precision: int
    places: int

    @property
    def integer_digits(self) -> int:
        return self.precision - self.places

    def __str__(self) -> str:
        return f"decimal({self.precision},{self.places})"


MONEY = Column(20, 4)
QUANTITY = Column(12, 4)


class NumberOutOfRange(ValueError):
    """A number no Commerce column holds: not finite, too large, negative where it cannot be."""

    def __init__(self, value: object, why: str) -> None:
        self.value = shown(value)
        self.why = why
        super().__init__(f"{self.value} is {why}")

    def __reduce__(self) -> tuple[type[NumberOutOfRange], tuple[str, str]]:
        return (NumberOutOfRange, (self.value, self.why))


def shown(value: object) -> str:
    """`value` as a dead letter may quote it: short, and never a costly conversion."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _MAX_BITS:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | float | Decimal):
        text = str(value)
    else:
        text = type(value).__name__
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def read_number(value: Any) -> Decimal | None:
    """The finite number `value` writes, or None when it writes none (booleans, objects, text
    that is not a plain ASCII decimal).

    Raises `NumberOutOfRange` for numbers no column holds whatever its kind: NaN, Infinity,
    integers wider than 128 bits, text with a long exponent or too many characters.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value.bit_length() > _MAX_BITS:
            raise NumberOutOfRange(value, "beyond any Commerce number")
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NumberOutOfRange(value, "not finite")
        return Decimal(repr(value))
    number: Decimal | None = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        number = _read_text(value)
    if number is None:
        return None
    if not number.is_finite():
        raise NumberOutOfRange(value, "not finite")
    return number


def _read_text(value: str) -> Decimal | None:
    text = value.strip()
    if _NOT_FINITE.fullmatch(text):
        raise NumberOutOfRange(value, "not finite")
    written = _DECIMAL.fullmatch(text)
    if written is None:
        return None
    exponent = written.group(1)
    if len(text) > MAX_TEXT or (exponent is not None and len(exponent) > _MAX_EXPONENT_DIGITS):
        raise NumberOutOfRange(value, "beyond any Commerce number")
    return Decimal(text)


def whole(number: Decimal, value: object, *, most: int = MAX_ID) -> int:
    """`number` (read from `value`) as a whole number from 0 to `most`."""
    if number < 0:
        raise NumberOutOfRange(value, "negative")
    if number.adjusted() >= _ID_DIGITS or number > most:
        raise NumberOutOfRange(value, f"larger than {most}")
    if number != number.to_integral_value():
        raise NumberOutOfRange(value, "not a whole number")
    return int(number)


def within(number: Decimal, value: object, column: Column, *, signed: bool) -> Decimal:
    """`number` (read from `value`) as `column` stores it: more places are rounded half-up
    as the column rounds them, more integer digits (or a sign where none can be) refused."""
    if not signed and number < 0:
        raise NumberOutOfRange(value, "negative")
    if number.adjusted() >= column.integer_digits:
        raise NumberOutOfRange(value, f"larger than {column} holds")
    rounded = number.quantize(Decimal(1).scaleb(-column.places), rounding=ROUND_HALF_UP)
    # "3.000000" is kept as written; only digits the column cannot hold are rounded away.
    return number if rounded == number else rounded
