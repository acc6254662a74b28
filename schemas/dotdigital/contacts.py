"""The contact upsert: a contact's names and purchase summary as Dotdigital data fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from schemas.dotdigital.amounts import money
from schemas.dotdigital.bodies import ContactUpsert, compact
from schemas.email import normalize_email

# The data fields Cartwright keeps, by their default Dotdigital names.
DATA_FIELDS = (
    "FIRSTNAME",
    "LASTNAME",
    "CUSTOMER_ID",
    "CUSTOMER_TYPE",
    "ORDER_COUNT",
    "LIFETIME_VALUE",
    "FIRST_ORDER_DATE",
    "LAST_ORDER_DATE",
    "LAST_ORDER_ID",
)
# What Dotdigital accepts as a data field's name.
DATA_FIELD_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")


def renamed(fields: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """`fields` under the account's own data field names (`names`: default name → the account's;
    a field not named keeps its default)."""
    return {names.get(name, name): value for name, value in fields.items()}


def _data_field_date(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def contact_upsert(
    email: str,
    *,
    firstname: str | None = None,
    lastname: str | None = None,
    customer_id: int | None = None,
    is_guest: bool | None = None,
    order_count: int | None = None,
    lifetime_value: Decimal | None = None,
    first_order_at: datetime | None = None,
    last_order_at: datetime | None = None,
    last_order_id: str | None = None,
    names: Mapping[str, str] | None = None,
) -> ContactUpsert:
    """The contact upsert that precedes a contact's insight data; unknown values are left out.
    `names` maps data fields to the account's own names, where the merchant renamed them."""
    customer_type = None if is_guest is None else ("guest" if is_guest else "registered")
    fields = {
        "FIRSTNAME": (firstname or "").strip() or None,
        "LASTNAME": (lastname or "").strip() or None,
        "CUSTOMER_ID": customer_id,
        "CUSTOMER_TYPE": customer_type,
        "ORDER_COUNT": order_count,
        "LIFETIME_VALUE": None if lifetime_value is None else money(lifetime_value),
        "FIRST_ORDER_DATE": _data_field_date(first_order_at),
        "LAST_ORDER_DATE": _data_field_date(last_order_at),
        "LAST_ORDER_ID": last_order_id,
    }
    return ContactUpsert(
        email=normalize_email(email), data_fields=renamed(compact(fields), names or {})
    )
