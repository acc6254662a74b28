"""Commerce numbers bounded as its columns hold them: ids, money, quantities, raw-topic keys."""

from __future__ import annotations

import pickle
from decimal import Decimal
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from schemas.commerce.creditmemos import CommerceCreditmemo
from schemas.commerce.customers import CommerceSubscriber
from schemas.commerce.events import ORDER_SAVED, PRODUCT_SAVED, CloudEvent, raw_key
from schemas.commerce.numbers import MAX_ID, NumberOutOfRange, read_number, shown
from schemas.commerce.orders import CommerceOrder, CommerceOrderItem
from schemas.commerce.payload import read_id

GIANT = "1e999999999"
THIRTY_DIGITS = "123456789012345678901234567890"


def out_of_range(error: ValidationError) -> NumberOutOfRange | None:
    causes = [e.get("ctx", {}).get("error") for e in error.errors()]
    return next((c for c in causes if isinstance(c, NumberOutOfRange)), None)


def order(**fields: Any) -> dict[str, Any]:
    return {"entity_id": 3, "increment_id": "000000003", **fields}


# --- ids -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ident"),
    [
        (3, 3),
        ("3", 3),
        ("3.000000", 3),
        (3.0, 3),
        (" 42 ", 42),
        (MAX_ID, MAX_ID),
        (str(MAX_ID), MAX_ID),
        ("0", None),
        ("0.0000", None),
        ("", None),
        (None, None),
    ],
)
def test_ids_read_as_commerce_writes_them(raw: Any, ident: int | None) -> None:
    assert read_id(raw) == ident


@pytest.mark.parametrize(
    "raw",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        "NaN",
        "sNaN",
        "Infinity",
        "-inf",
        GIANT,
        "1e5000",
        "-1e400",
        1e30,
        "1e30",
        int(THIRTY_DIGITS),
        THIRTY_DIGITS,
        10**4000,
        MAX_ID + 1,
        -3,
        "-3",
        "3.5",
        "1e-999999999",
        Decimal(GIANT),
        True,
        "1_000",
        "\u0663",  # ARABIC-INDIC DIGIT THREE
        {"id": 3},
        [3],
        "3 4",
    ],
)
def test_anything_else_is_no_id(raw: Any) -> None:
    assert read_id(raw) is None


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (float("nan"), "not finite"),
        ("Infinity", "not finite"),
        (GIANT, "beyond any Commerce number"),
        ("9" * 100, "beyond any Commerce number"),
        (10**4000, "beyond any Commerce number"),
        (THIRTY_DIGITS, f"larger than {MAX_ID}"),
        (1e30, f"larger than {MAX_ID}"),
        (-1, "negative"),
        ("3.5", "not a whole number"),
    ],
)
def test_an_id_out_of_range_is_refused_naming_the_value_and_why(raw: Any, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CommerceOrder.model_validate(order(entity_id=raw))

    cause = out_of_range(caught.value)
    assert cause is not None and cause.why == why
    assert len(cause.value) <= 40


@pytest.mark.parametrize("raw", [True, False, {"a": 1}, [1], "abc", "1_000", "\u0663"])
def test_an_id_of_the_wrong_type_is_not_understood(raw: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        CommerceOrder.model_validate(order(entity_id=raw))

    assert out_of_range(caught.value) is None
    assert caught.value.errors()[0]["loc"] == ("entity_id",)


def test_a_giant_id_is_refused_without_ever_becoming_an_integer() -> None:
    # int(Decimal("1e999999999")) would hold the event loop for good; this returns at once.
    for raw in (GIANT, Decimal(GIANT), f"-{GIANT}", "1E+999999999", "9e9999"):
        assert read_id(raw) is None
        with pytest.raises(ValidationError):
            CommerceOrderItem.model_validate({"item_id": raw})


# --- money and quantities ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("229.830000", Decimal("229.830000")),  # as written: only digits the column lacks go
        (229.83, Decimal("229.83")),
        ("-10.000000", Decimal("-10.000000")),  # discounts are negative in Commerce
        ("1.23456789", Decimal("1.2346")),  # rounded half-up to the column's 4 places
        (0.1 + 0.2, Decimal("0.3000")),
        ("9999999999999999.9999", Decimal("9999999999999999.9999")),
        ("1e-9", Decimal("0.0000")),
        ("", Decimal(0)),
        (None, Decimal(0)),
    ],
)
def test_money_is_read_as_a_decimal_20_4_column_holds_it(raw: Any, amount: Decimal) -> None:
    read = CommerceOrder.model_validate(order(discount_amount=raw)).discount_amount
    assert read == amount and str(read) == str(amount)


@pytest.mark.parametrize(
    ("field", "raw", "why"),
    [
        ("grand_total", "NaN", "not finite"),
        ("grand_total", float("inf"), "not finite"),
        ("grand_total", "-Infinity", "not finite"),
        ("grand_total", "1e5000", "larger than decimal(20,4) holds"),
        ("grand_total", "1e50000", "beyond any Commerce number"),
        ("grand_total", 1e30, "larger than decimal(20,4) holds"),
        ("grand_total", int(THIRTY_DIGITS), "larger than decimal(20,4) holds"),
        ("grand_total", THIRTY_DIGITS, "larger than decimal(20,4) holds"),
        ("grand_total", "10000000000000000", "larger than decimal(20,4) holds"),
        ("grand_total", GIANT, "beyond any Commerce number"),
        ("grand_total", "-0.01", "negative"),
        ("subtotal", -1, "negative"),
        ("total_paid", "-5", "negative"),
        ("total_refunded", "-5", "negative"),
        ("discount_amount", "-1e400", "larger than decimal(20,4) holds"),
        ("tax_amount", -(10**17), "larger than decimal(20,4) holds"),
    ],
)
def test_order_money_out_of_range_is_refused(field: str, raw: Any, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CommerceOrder.model_validate(order(**{field: raw}))

    cause = out_of_range(caught.value)
    assert cause is not None and cause.why == why
    assert caught.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (float("nan"), "not finite"),
        ("100000000", "larger than decimal(12,4) holds"),
        (1e30, "larger than decimal(12,4) holds"),
        (GIANT, "beyond any Commerce number"),
        ("-1", "negative"),
    ],
)
def test_quantities_are_bounded_as_decimal_12_4(raw: Any, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CommerceOrderItem.model_validate({"item_id": 1, "qty_ordered": raw})

    cause = out_of_range(caught.value)
    assert cause is not None and cause.why == why
    assert CommerceOrderItem.model_validate({"item_id": 1, "qty_ordered": "99999999.9999"})


def test_a_credit_memo_refunds_no_negative_total_but_may_adjust_down() -> None:
    memo = {"entity_id": 1, "order_id": 3, "grand_total": "5", "adjustment": "-2.5"}
    assert CommerceCreditmemo.model_validate(memo).adjustment == Decimal("-2.5")
    with pytest.raises(ValidationError) as caught:
        CommerceCreditmemo.model_validate({**memo, "grand_total": "-5"})
    assert out_of_range(caught.value) is not None


@pytest.mark.parametrize("raw", [True, {"a": 1}, [1], "abc", "1_000", "\u0663"])
def test_money_of_the_wrong_type_is_not_understood(raw: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        CommerceOrder.model_validate(order(grand_total=raw))

    assert out_of_range(caught.value) is None


def test_a_subscriber_status_is_a_small_whole_number() -> None:
    with pytest.raises(ValidationError) as caught:
        CommerceSubscriber.model_validate({"subscriber_status": GIANT})
    assert out_of_range(caught.value) is not None
    assert CommerceSubscriber.model_validate({"subscriber_status": "3"}).subscriber_status == 3


# --- wrong types where objects and lists belong ----------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"extension_attributes": 5},
        {"extension_attributes": "shipping"},
        {"extension_attributes": {"shipping_assignments": "x"}},
        {"extension_attributes": {"shipping_assignments": [7]}},
        {"addresses": 12},
        {"addresses": "billing"},
        {"addresses": ["billing", 3]},
    ],
)
def test_wrongly_typed_places_an_order_may_keep_things_in_are_read_as_empty(
    fields: dict[str, Any],
) -> None:
    read = CommerceOrder.model_validate(order(**fields))
    assert (read.shipping_address, read.billing_address) == (None, None)


@pytest.mark.parametrize(
    "item",
    [
        {"product_option": "x"},
        {"product_option": {"extension_attributes": 5}},
        {"product_options": "[" * 5000 + "]" * 5000},
        {"product_options": '{"options": 5}'},
        {"product_options": '{"options": NaN}'},
        {"custom_options": 17},
    ],
)
def test_wrongly_typed_custom_options_are_read_as_none(item: dict[str, Any]) -> None:
    assert CommerceOrderItem.model_validate({"item_id": 1, **item}).custom_options == []


@pytest.mark.parametrize(
    "fields",
    [
        {"items": "abc"},
        {"items": [1, 2]},
        {"billing_address": [1]},
        {"billing_address": {"street": 5}},
        {"payment": "checkmo"},
    ],
)
def test_wrongly_typed_entities_are_not_understood(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CommerceOrder.model_validate(order(**fields))


# --- the raw-topic key ---------------------------------------------------------------------------


def event(type_: str, value_json: bytes) -> CloudEvent:
    body = b'{"id": "ev-1", "type": "' + type_.encode() + b'", "data": {"value": ' + value_json
    return CloudEvent.model_validate_json(body + b"}}")


@pytest.mark.parametrize(
    "entity_id",
    [
        b"1e999999999",
        b'"1e999999999"',
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e5000",
        b'"sNaN"',
        THIRTY_DIGITS.encode(),
        b"9" * 4000,
        b"-3",
        b"true",
        b'{"a": 1}',
    ],
)
def test_a_number_no_id_can_be_falls_back_to_the_event_key(entity_id: bytes) -> None:
    assert raw_key(event(ORDER_SAVED, b'{"entity_id": ' + entity_id + b"}")) == "event:ev-1"


@pytest.mark.parametrize(
    ("sku", "key"),
    [
        (b'"24-MB01"', "product:24-MB01"),
        (b"1234", "product:1234"),
        (orjson.dumps("x" * 65), "event:ev-1"),
        (b'{"a": 1}', "event:ev-1"),
        (b"[1]", "event:ev-1"),
        (b"true", "event:ev-1"),
        (b"9" * 4000, "event:ev-1"),
    ],
)
def test_a_product_key_is_a_sku_commerce_could_hold(sku: bytes, key: str) -> None:
    assert raw_key(event(PRODUCT_SAVED, b'{"sku": ' + sku + b"}")) == key


# --- reading and showing -------------------------------------------------------------------------


def test_a_number_is_shown_short_and_never_converted() -> None:
    assert shown(10**4000) == "an integer of 13288 bits"
    assert shown("9" * 100) == "9" * 39 + "…"
    assert shown(Decimal(GIANT)) == "1E+999999999"
    assert shown({"a": 1}) == "dict"


def test_read_number_leaves_what_is_no_number_to_the_caller() -> None:
    values: list[Any] = [True, None, {}, [], "abc", "1_000"]
    assert [read_number(value) for value in values] == [None] * len(values)


def test_number_out_of_range_survives_pickling() -> None:
    original = NumberOutOfRange(GIANT, "beyond any Commerce number")
    copy = pickle.loads(pickle.dumps(original))
    assert (copy.value, copy.why, str(copy)) == (original.value, original.why, str(original))
