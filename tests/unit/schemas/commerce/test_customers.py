"""Commerce customers as their save events carry them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas.commerce.customers import CommerceCustomer
from schemas.commerce.events import (
    CloudEvent,
)

LoadEvent = Callable[[str], CloudEvent]


def test_customer_keeps_the_previous_email_from_orig_data(commerce_event: LoadEvent) -> None:
    customer = CommerceCustomer.model_validate(commerce_event("customer_email_changed").data.value)
    assert (customer.id, customer.email, customer.orig_email) == (
        7,
        "Veronica.Costello@Example.com",
        "roni_cost@example.com",
    )
    assert (customer.group_id, customer.website_id) == (1, 1)


@pytest.mark.parametrize("orig", [[], {}, {"firstname": "V"}, None])
def test_customer_without_an_email_change_has_no_previous_email(orig: Any) -> None:
    customer = CommerceCustomer.model_validate({"entity_id": "7", "_origData": orig})
    assert (customer.id, customer.orig_email) == (7, None)
