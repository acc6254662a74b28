"""Commerce's two wire dialects: loose strings in events, real numbers over REST, naive UTC dates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")


def commerce_time(moment: datetime) -> str:
    """Commerce's `YYYY-MM-DD HH:MM:SS`, UTC without a zone."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def loose_decimal(value: Decimal | int | float) -> str:
    """Decimals as Commerce's event payloads carry them: strings with six places."""
    return f"{Decimal(value):.6f}"


def money(value: Decimal) -> Decimal:
    """Rounded to the cent, as Commerce stores amounts."""
    return value.quantize(CENT)


def loose(value: Any) -> Any:
    """A record as the event payload carries it: ids, flags and amounts as strings."""
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is dict:
        return {key: loose(item) for key, item in value.items()}
    if kind is list:
        return [loose(item) for item in value]
    if kind is bool:
        return "1" if value else "0"
    if kind is int:
        return str(value)
    if kind is Decimal:
        return f"{value:.6f}"
    if kind is datetime:
        return commerce_time(value)
    return value


def rest(value: Any) -> Any:
    """A record as the REST API answers it: JSON numbers, PHP-style (2.0 prints as 2)."""
    if isinstance(value, dict):
        return {key: rest(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rest(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return commerce_time(value)
    return value
