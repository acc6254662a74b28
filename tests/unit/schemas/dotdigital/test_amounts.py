"""Money and quantities in Dotdigital documents: money to the cent, whole quantities as ints."""

from __future__ import annotations

from decimal import Decimal

import pytest

from schemas.dotdigital.amounts import money, quantity


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("9.995", 10.0), ("9.994", 9.99), ("459.655", 459.66), ("-0.005", -0.01), ("53.7100", 53.71)],
)
def test_money_rounds_half_up_to_the_cent(amount: str, expected: float) -> None:
    assert money(Decimal(amount)) == expected


def test_money_is_a_json_number() -> None:
    assert isinstance(money(Decimal(3)), float)


@pytest.mark.parametrize(
    ("qty", "expected", "kind"),
    [("2.0000", 2, int), ("0", 0, int), ("1.5", 1.5, float), ("0.25", 0.25, float)],
)
def test_whole_quantities_are_ints_and_fractional_ones_floats(
    qty: str, expected: float, kind: type
) -> None:
    value = quantity(Decimal(qty))
    assert value == expected and type(value) is kind
