"""The contact upsert: data fields in Dotdigital names, unknown values left out."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from schemas.dotdigital.contacts import contact_upsert, renamed
from schemas.email import InvalidEmail


def test_contact_upsert_uses_upper_snake_data_fields_and_omits_unknowns() -> None:
    upsert = contact_upsert(
        " Gemma.Guest@Example.com",
        firstname="Gemma",
        lastname=" ",
        is_guest=True,
        order_count=2,
        lifetime_value=Decimal("459.655"),
        first_order_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        last_order_at=datetime(2026, 11, 26, 10, 15, 2, tzinfo=UTC),
        last_order_id="000000003",
    )
    body = upsert.wire()

    assert body["identifiers"] == {"email": "gemma.guest@example.com"}
    assert body["dataFields"] == {
        "FIRSTNAME": "Gemma",
        "CUSTOMER_TYPE": "guest",
        "ORDER_COUNT": 2,
        "LIFETIME_VALUE": 459.66,
        "FIRST_ORDER_DATE": "2026-01-02T03:04:05Z",
        "LAST_ORDER_DATE": "2026-11-26T10:15:02Z",
        "LAST_ORDER_ID": "000000003",
    }
    orjson.dumps(body)


def test_contact_upsert_marks_registered_customers() -> None:
    fields = contact_upsert("roni_cost@example.com", customer_id=7, is_guest=False).data_fields
    assert fields == {"CUSTOMER_ID": 7, "CUSTOMER_TYPE": "registered"}


def test_contact_upsert_refuses_an_invalid_email() -> None:
    with pytest.raises(InvalidEmail):
        contact_upsert("not an email")


def test_renamed_fields_go_under_the_account_s_own_names_and_the_rest_keep_theirs() -> None:
    fields = {"FIRSTNAME": "Ada", "LASTNAME": "Lovelace", "ORDER_COUNT": 2}

    assert renamed(fields, {"FIRSTNAME": "FIRST_NAME", "LIFETIME_VALUE": "LTV"}) == {
        "FIRST_NAME": "Ada",
        "LASTNAME": "Lovelace",
        "ORDER_COUNT": 2,
    }
    assert renamed(fields, {}) == fields


def test_a_contact_upsert_writes_renamed_fields_under_the_account_s_names() -> None:
    upsert = contact_upsert(
        "ada@example.com",
        firstname="Ada",
        lastname="Lovelace",
        order_count=1,
        names={"FIRSTNAME": "FIRST_NAME", "LASTNAME": "SURNAME"},
    )

    assert upsert.wire()["dataFields"] == {
        "FIRST_NAME": "Ada",
        "SURNAME": "Lovelace",
        "ORDER_COUNT": 1,
    }


def test_a_renamed_field_with_no_value_is_still_left_out() -> None:
    upsert = contact_upsert("ada@example.com", lastname=" ", names={"LASTNAME": "SURNAME"})

    assert upsert.data_fields == {}
