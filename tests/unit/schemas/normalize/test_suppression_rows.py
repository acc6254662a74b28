"""Dotdigital suppression feed rows of the wrong shape are unreadable rows, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.normalize.consent import from_suppression


@pytest.mark.parametrize("row", ["unsubscribed", 42, None, ["suppressedContact"]])
def test_a_feed_row_that_is_no_object_is_unreadable(row: Any) -> None:
    with pytest.raises(ValueError, match="feed row is not an object"):
        from_suppression(row)


@pytest.mark.parametrize(
    "contact",
    [
        {"id": float("inf"), "email": "ada@example.com"},
        {"id": 5, "email": {"address": "ada@example.com"}},
        {"id": 5, "email": "\u212ada@example.com"},
    ],
)
def test_a_feed_row_with_hostile_values_is_unreadable(contact: dict[str, Any]) -> None:
    row = {"suppressedContact": contact, "dateRemoved": "2026-01-01T00:00:00", "reason": "x"}
    with pytest.raises(ValueError):
        from_suppression(row)
