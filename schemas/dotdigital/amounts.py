"""Money and quantities as Dotdigital documents hold them: JSON numbers, money to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money(amount: Decimal) -> float:
    """An amount rounded half-up to the cent: `Decimal("9.995")` → `10.0`."""
    return float(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def quantity(qty: Decimal) -> int | float:
    """A whole quantity as an int (`2.0000` → `2`), a fractional one as a float (`1.5`)."""
    return int(qty) if qty == qty.to_integral_value() else float(qty)
