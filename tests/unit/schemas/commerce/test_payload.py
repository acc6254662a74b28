"""The loose wire types Commerce bodies are read with: flags, blank strings, zero dates."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.commerce.orders import CommerceOrder, CommerceOrderItem


@pytest.mark.parametrize(("raw", "flag"), [(1, True), ("1", True), (True, True), ("0", False)])
def test_item_booleans_accept_commerce_spellings(raw: Any, flag: bool) -> None:
    item = CommerceOrderItem.model_validate({"item_id": "1", "is_virtual": raw})
    assert item.is_virtual is flag


@pytest.mark.parametrize("raw", [None, "", 0])
def test_item_booleans_read_empty_as_false(raw: Any) -> None:
    assert CommerceOrderItem.model_validate({"item_id": 1, "is_virtual": raw}).is_virtual is False


def test_zero_dates_and_blank_strings_read_as_missing() -> None:
    order = CommerceOrder.model_validate(
        {"entity_id": 1, "increment_id": "1", "updated_at": "0000-00-00 00:00:00", "state": ""}
    )
    assert (order.updated_at, order.state) == (None, None)
