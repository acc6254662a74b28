"""A Commerce quote save, normalized: keyed by email once known, lines and totals as sent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sandbox.commerce.simulator.events import QUOTE_SAVED
from sandbox.commerce.simulator.store import Store
from schemas.commerce.events import CloudEvent
from schemas.commerce.quotes import CommerceQuote
from schemas.contract.carts import CartUpdated
from schemas.email import InvalidEmail
from schemas.normalize.carts import cart_updated


def _normalized(event: dict[str, Any]) -> CartUpdated:
    envelope = CloudEvent.model_validate(event)
    assert envelope.type == QUOTE_SAVED
    quote = CommerceQuote.model_validate(envelope.data.value)
    assert envelope.time is not None
    return cart_updated(quote, event_id=envelope.eventid, occurred_at=envelope.time)


def test_a_guest_cart_is_keyed_by_its_quote_until_the_payment_step_gives_an_email() -> None:
    store = Store(seed=3)
    guest = store.guest("  Gail.Guest@Example.com ", "Gail", "Guest")
    quote = store.open_cart(guest)
    (added,) = store.add_to_cart(quote, store.catalogue.line("24-MB01", 2), guest)
    store.clock.advance(90)
    (paying,) = store.reach_payment(quote, guest)

    before, after = _normalized(added), _normalized(paying)

    assert (before.email, before.key) == (None, f"quote:{quote.entity_id}")
    assert (after.email, after.key) == ("gail.guest@example.com", "gail.guest@example.com")
    assert after.quote_id == before.quote_id == str(quote.entity_id)
    assert after.updated_at == datetime(2026, 11, 26, 9, 1, 30, tzinfo=UTC)
    assert after.updated_at.tzinfo is not None
    assert after.is_guest and after.is_active


def test_lines_and_totals_are_carried_as_the_store_sent_them() -> None:
    store = Store(seed=4)
    customer = store.register("rita@example.com", "Rita", "Reg")
    quote = store.open_cart(customer)
    store.add_to_cart(quote, store.catalogue.line("24-MB01", 2), customer)
    (event,) = store.add_to_cart(quote, store.catalogue.line("24-WG084"), customer)

    cart = _normalized(event)

    assert [(line.sku, line.qty) for line in cart.items] == [
        ("24-MB01", Decimal(2)),
        ("24-WG084", Decimal(1)),
    ]
    assert cart.subtotal == sum((line.row_total for line in cart.items), Decimal(0))
    assert cart.grand_total > cart.subtotal
    assert (cart.currency, cart.store_id, cart.customer_id) == ("GBP", 1, customer.id)
    assert cart.tax_amount is None  # the quote row does not carry it: nothing is made up


def test_a_checked_out_cart_names_its_order_and_is_inactive() -> None:
    store = Store(seed=5)
    customer = store.register("olga@example.com", "Olga", "Order")
    quote = store.open_cart(customer)
    store.add_to_cart(quote, store.catalogue.line("24-MB01"), customer)
    order = store.place_order(customer, quote=quote)
    (event,) = [e for e in store.events if e["type"] == QUOTE_SAVED][-1:]

    cart = _normalized(event)

    assert (cart.is_active, cart.reserved_order_id) == (False, order.increment_id)


def test_a_configurable_row_and_its_child_are_one_line_under_the_child_sku() -> None:
    quote = CommerceQuote.model_validate(
        {
            "entity_id": "7",
            "is_active": "1",
            "customer_email": "c@example.com",
            "updated_at": "2026-11-26 10:00:00",
            "items": {
                "1": {"item_id": "1", "sku": "MH01", "name": "Hoodie", "product_id": "10",
                      "product_type": "configurable", "qty": "1.0000", "price": "52.0000",
                      "row_total": "52.0000"},
                "2": {"item_id": "2", "parent_item_id": "1", "sku": "MH01-XS-Black",
                      "name": "Hoodie-XS-Black", "product_id": "11", "qty": "1.0000"},
            },
        }
    )  # fmt: skip

    cart = cart_updated(quote, event_id="e", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))

    (line,) = cart.items
    assert (line.sku, line.product_id, line.parent_product_id) == ("MH01-XS-Black", 11, 10)
    assert (line.price, line.qty) == (Decimal(52), Decimal(1))
    assert cart.created_at == cart.updated_at == datetime(2026, 11, 26, 10, tzinfo=UTC)


def test_a_malformed_email_is_refused_not_taken_for_a_guest() -> None:
    quote = CommerceQuote.model_validate({"entity_id": 8, "customer_email": "not an email"})
    with pytest.raises(InvalidEmail):
        cart_updated(quote, event_id="e", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
