"""The base of inbound Commerce bodies and the loose wire types they are read with."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from schemas.moments import as_utc


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def decimal_or_none(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def id_or_none(value: Any) -> Any:
    """Commerce writes "no id" as null, "", 0 or "0.0000"."""
    value = _blank_to_none(value)
    number = decimal_or_none(value)
    return None if value is None or number == 0 else value


def _amount(value: Any) -> Any:
    """Money and quantities: absent means zero; floats go through str to keep what was written."""
    value = _blank_to_none(value)
    if value is None:
        return Decimal(0)
    return Decimal(repr(value)) if isinstance(value, float) else value


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


Id = Annotated[int, BeforeValidator(_blank_to_none)]
OptionalId = Annotated[int | None, BeforeValidator(id_or_none)]
OptionalInt = Annotated[int | None, BeforeValidator(_blank_to_none)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
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
