"""Reconciliation: Commerce's orders and credit memos against Dotdigital's Orders and Refunds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class DriftDay:
    """One day and store of revenue on both sides: `drift` = Dotdigital minus Commerce (net of
    refunds), `findings` how many records disagree."""

    day: date
    store: str
    commerce: Decimal
    dotdigital: Decimal
    drift: Decimal
    percent: float
    findings: int
