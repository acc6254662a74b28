"""The store simulator's scenario API: determinism, the order lifecycle, customers and carts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from sandbox.commerce.model.customers import SUBSCRIBED, UNSUBSCRIBED, EmailTaken
from sandbox.commerce.model.lifecycle import LifecycleError
from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.events import (
    CREDITMEMO_SAVED,
    CUSTOMER_SAVED,
    ORDER_SAVED,
    PRODUCT_SAVED,
    QUOTE_SAVED,
    SHIPMENT_SAVED,
    SUBSCRIBER_SAVED,
)
from sandbox.commerce.simulator.store import Store
from sandbox.commerce.simulator.traffic import StoreTraffic


def played(seed: int, orders: int = 40) -> Store:
    store = Store(seed=seed)
    for _ in StoreTraffic(store, seed=seed).run(orders):
        pass
    return store


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def value(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = event["data"]["value"]
    return result


@pytest.fixture
def store() -> Store:
    return Store(seed=11)


def two_line_order(store: Store) -> Order:
    customer = store.register("ada@example.com", "Ada", "Lovelace")
    lines = [store.catalogue.line("24-MB01", 2), store.catalogue.line("24-MB04", 1)]
    return store.place_order(customer, lines)


def test_same_seed_gives_byte_identical_events_and_different_seeds_differ() -> None:
    first, again, other = played(5), played(5), played(6)
    assert orjson.dumps(first.events) == orjson.dumps(again.events)
    assert orjson.dumps(first.behaviour) == orjson.dumps(again.behaviour)
    assert orjson.dumps(first.events) != orjson.dumps(other.events)
    assert {o.increment_id: o.rest() for o in first.orders.values()} == {
        o.increment_id: o.rest() for o in again.orders.values()
    }


def test_traffic_covers_every_event_type_and_lifecycle_end() -> None:
    store = played(5, orders=120)
    seen = set(types(store.events))
    assert {ORDER_SAVED, SHIPMENT_SAVED, CREDITMEMO_SAVED, CUSTOMER_SAVED, QUOTE_SAVED} <= seen
    assert {SUBSCRIBER_SAVED, PRODUCT_SAVED} <= seen
    assert {"complete", "closed", "canceled"} <= {o.state for o in store.orders.values()}
    abandoned = [q for q in store.quotes.values() if q.is_active and q.lines]
    assert abandoned, "some carts are never checked out"


def test_event_payloads_are_loosely_typed_like_commerce(store: Store) -> None:
    order = two_line_order(store)
    placed = value(store.events[-1])
    assert placed["entity_id"] == str(order.entity_id)
    assert placed["state"] == "new" and placed["status"] == "pending"
    assert placed["items"][0]["qty_ordered"] == "2.000000"
    assert placed["grand_total"] == f"{order.grand_total:.6f}"
    assert placed["created_at"] == "2026-11-26 09:00:00"
    assert store.events[-1]["time"] == "2026-11-26T09:00:00.000Z"


def test_invoice_then_partial_then_full_shipment_completes(store: Store) -> None:
    order = two_line_order(store)
    assert [value(e)["state"] for e in store.invoice(order)] == ["processing"]
    partial = store.ship(order, {"24-MB01": 1})
    assert types(partial) == [SHIPMENT_SAVED, ORDER_SAVED]
    assert value(partial[0])["items"] == [
        {**value(partial[0])["items"][0], "sku": "24-MB01", "qty": "1.000000"}
    ]
    assert value(partial[1])["state"] == "processing"
    rest = store.ship(order)
    assert value(rest[1])["state"] == "complete"
    assert {row["qty_shipped"] for row in value(rest[1])["items"]} == {"2.000000", "1.000000"}


def test_cancel_after_partial_invoice_cancels_only_the_remainder(store: Store) -> None:
    order = two_line_order(store)
    store.invoice(order, {"24-MB01": 2})
    canceled = value(store.cancel(order)[0])
    assert canceled["state"] == "processing"
    remainder = order.grand_total - (order.total_invoiced or 0)
    assert canceled["total_canceled"] == f"{remainder:.6f}"
    store.ship(order)
    assert order.state == "complete"


def test_cancel_before_any_invoice_cancels_the_order(store: Store) -> None:
    order = two_line_order(store)
    assert value(store.cancel(order)[0])["state"] == "canceled"
    with pytest.raises(LifecycleError):
        store.invoice(order)


def test_full_refund_with_nothing_left_to_ship_closes_the_order(store: Store) -> None:
    order = two_line_order(store)
    store.invoice(order)
    events = store.refund(order)
    memo = value(events[0])
    assert types(events) == [CREDITMEMO_SAVED, ORDER_SAVED]
    assert memo["order_id"] == str(order.entity_id) and memo["state"] == "2"
    assert memo["grand_total"] == f"{order.grand_total:.6f}"
    assert {item["sku"] for item in memo["items"]} == {"24-MB01", "24-MB04"}
    assert {"adjustment", "adjustment_positive", "adjustment_negative"} <= memo.keys()
    assert value(events[1])["state"] == "closed"


def test_partial_refund_stays_processing_until_the_rest_ships(store: Store) -> None:
    order = two_line_order(store)
    store.invoice(order)
    memo = value(store.refund(order, {"24-MB04": 1})[0])
    assert memo["items"][0]["row_total"] == "32.000000"
    assert order.state == "processing"
    store.ship(order)
    assert order.state == "complete"
    store.refund(order)
    assert order.state == "closed"
    assert order.total_refunded == order.grand_total


def test_adjustment_only_refund_keeps_items_unrefunded(store: Store) -> None:
    order = two_line_order(store)
    store.invoice(order)
    store.ship(order)
    memo = value(store.refund(order, amount=Decimal("5.00"))[0])
    assert memo["items"] == [] and memo["adjustment_positive"] == "5.000000"
    assert order.state == "complete" and order.total_refunded == Decimal("5.00")


def test_hold_then_unhold_restores_the_previous_state(store: Store) -> None:
    order = two_line_order(store)
    store.invoice(order, {"24-MB01": 1})
    held = value(store.hold(order)[0])
    assert (held["state"], held["hold_before_state"]) == ("holded", "processing")
    with pytest.raises(LifecycleError):
        store.ship(order)
    released = value(store.unhold(order)[0])
    assert (released["state"], released["status"]) == ("processing", "processing")


def test_complete_and_closed_orders_cannot_be_held_or_canceled(store: Store) -> None:
    order = two_line_order(store)
    store.invoice(order)
    store.ship(order)
    for operation in (store.hold, store.cancel):
        with pytest.raises(LifecycleError):
            operation(order)


def test_edit_cancels_the_original_and_links_the_new_order(store: Store) -> None:
    order = two_line_order(store)
    edited = store.edit(order, [store.catalogue.line("24-MB01", 3)])
    new, original = value(store.events[-2]), value(store.events[-1])
    assert original["state"] == "canceled"
    assert original["relation_child_id"] == str(edited.entity_id)
    assert new["increment_id"] == f"{order.increment_id}-1"
    assert new["relation_parent_id"] == str(order.entity_id)
    assert new["original_increment_id"] == order.increment_id
    assert new["state"] == "new" and new["items"][0]["qty_ordered"] == "3.000000"


def test_email_change_rewrites_orders_without_order_events(store: Store) -> None:
    order = two_line_order(store)
    customer = store.customers[order.customer_id or 0]
    store.subscribe("ada@example.com", SUBSCRIBED)
    before = len(store.events)
    events = store.change_email(customer, "ada.lovelace@example.com")
    assert store.events[before:] == events
    assert types(events) == [CUSTOMER_SAVED, SUBSCRIBER_SAVED]
    assert value(events[0])["_origData"]["email"] == "ada@example.com"
    assert value(events[1])["subscriber_email"] == "ada.lovelace@example.com"
    assert order.email == "ada.lovelace@example.com"
    assert order.rest()["customer_email"] == "ada.lovelace@example.com"
    assert order.updated_at == store.clock.now()


def test_two_accounts_cannot_share_an_email(store: Store) -> None:
    store.register("ada@example.com", "Ada", "Lovelace")
    with pytest.raises(EmailTaken):
        store.register(" ADA@example.com", "Ada", "Again")


def test_guest_subscriber_has_customer_id_zero_and_attaches_on_registration(store: Store) -> None:
    subscribed = value(store.subscribe("grace@example.com", SUBSCRIBED)[0])
    assert (subscribed["customer_id"], subscribed["subscriber_status"]) == ("0", "1")
    customer = store.register("grace@example.com", "Grace", "Hopper")
    attached = value(store.events[-1])
    assert attached["customer_id"] == str(customer.id)
    assert store.is_subscribed(customer)
    for status in (2, 3, 4):
        assert value(store.subscribe("grace@example.com", status)[0])["subscriber_status"] == str(
            status
        )
    assert value(store.set_subscription(customer, True)[-1])["subscriber_status"] == str(SUBSCRIBED)
    assert value(store.set_subscription(customer, False)[-1])["subscriber_status"] == str(
        UNSUBSCRIBED
    )


def test_guest_cart_has_no_email_until_the_payment_step(store: Store) -> None:
    guest = store.guest("guest@example.com", "Alan", "Turing")
    cart = store.open_cart()
    store.add_to_cart(cart, store.catalogue.line("24-UG06", 1), guest)
    assert value(store.events[-1])["customer_email"] is None
    assert value(store.reach_payment(cart, guest)[0])["customer_email"] == "guest@example.com"
    order = store.place_order(guest, quote=cart)
    converted, placed = value(store.events[-2]), value(store.events[-1])
    assert (converted["is_active"], converted["reserved_order_id"]) == ("0", order.increment_id)
    assert placed["customer_is_guest"] == "1" and placed["customer_id"] is None


def test_guest_orders_are_reassigned_when_the_guest_registers(store: Store) -> None:
    guest = store.guest("sam@example.com", "Sam", "Vimes")
    order = store.place_order(guest, [store.catalogue.line("24-UG06", 1)])
    customer = store.register("sam@example.com", "Sam", "Vimes")
    events = store.claim_guest_orders(customer)
    assert value(events[0])["customer_id"] == str(customer.id) and order.customer_id == customer.id


def test_configurable_bundle_and_custom_options_render_like_commerce(store: Store) -> None:
    guest = store.guest("opt@example.com", "Opt", "Ions")
    lines = [
        store.catalogue.line("MJ01-S-Red", 1),
        store.catalogue.line("24-WG080", 1),
        store.catalogue.line("24-MB01", 1, {8: "22"}),
        store.catalogue.line("24-WG02", 1, {7: "A.L.", 9: "31,32"}),
    ]
    order = store.place_order(guest, lines)
    items = value(store.events[-1])["items"]
    parent, child = items[0], items[1]
    assert (parent["product_type"], parent["sku"], parent["name"]) == (
        "configurable", "MJ01-S-Red", "Beaumont Summit Kit",
    )  # fmt: skip
    assert child["parent_item_id"] == parent["item_id"] and child["product_type"] == "simple"
    bundle = [row for row in items if row["parent_item_id"] == items[2]["item_id"]]
    assert items[2]["product_type"] == "bundle" and len(bundle) == 3
    wrap = next(row for row in items if row["sku"] == "24-MB01")
    assert wrap["product_option"]["extension_attributes"]["custom_options"] == [
        {"option_id": "8", "option_value": "22"}
    ]
    assert "options" not in wrap["product_options"], "select labels come from /options"
    watch = next(row for row in items if row["sku"] == "24-WG02")
    options = watch["product_option"]["extension_attributes"]["custom_options"]
    assert {"option_id": "9", "option_value": "31,32"} in options
    store.invoice(order)
    shipment = value(store.ship(order)[0])
    shipped = {item["sku"] for item in shipment["items"]}
    assert {"MJ01-S-Red", "24-WG081-blue", "24-WG084", "24-WG085"} <= shipped
    assert "24-WG080" not in shipped, "bundle parts ship as their own rows"


def test_virtual_order_completes_when_invoiced(store: Store) -> None:
    customer = store.register("v@example.com", "Vi", "Rtual")
    order = store.place_order(customer, [store.catalogue.line("VRT-YOGA-10", 1)])
    assert order.shipping == 0
    store.invoice(order)
    assert order.state == "complete"


def test_product_update_carries_select_attribute_option_ids(store: Store) -> None:
    product = value(
        store.update_product("24-MB01", attributes={"color": 58}, price=Decimal("30"))[0]
    )
    assert (product["sku"], product["color"], product["price"]) == ("24-MB01", "58", "30.000000")
    assert store.catalogue.attribute_options("color") is not None
    with pytest.raises(KeyError):
        store.update_product("24-MB01", attributes={"color": 999})


def test_storefront_events_follow_the_sdk_shape(store: Store) -> None:
    customer = store.register("shop@example.com", "Sho", "Pper")
    cart = store.open_cart(customer)
    view = store.view_product("MJ01-S-Red", customer, cart)
    store.add_to_cart(cart, store.catalogue.line("MJ01-S-Red", 1), customer)
    browse = store.view_category("Gear/Bags", store.guest("g@example.com", "G", "H"))
    assert view["event"] == "product-page-view"
    info = view["eventInfo"]
    assert info["productContext"]["topLevelSku"] == "MJ01"
    assert info["shopperContext"] == {"shopperId": "logged-in"}
    assert info["accountContext"] == {"email": "shop@example.com"}
    assert info["shoppingCartContext"]["id"] == str(cart.entity_id)
    assert store.behaviour[-2]["event"] == "add-to-cart"
    assert browse["event"] == "category-results-view"
    assert browse["eventInfo"]["shopperContext"] == {"shopperId": "guest"}
    assert "accountContext" not in browse["eventInfo"]
