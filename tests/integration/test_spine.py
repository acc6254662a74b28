"""End to end on the real broker: signed Commerce events in, Dotdigital contacts and Orders out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.events import SHIPMENT_SAVED, envelope
from schemas.commerce.orders import CommerceOrder, CommerceShipment
from schemas.dotdigital.orders import orders_record
from schemas.normalize.orders import order_updated
from tests.support.accounts import CLIENT_ID
from tests.support.orders import PLACED, email_of, new_order, order_event
from tests.support.stack import Stack, accepted, eventually, read_topic

pytestmark = pytest.mark.integration

SHIPPED = PLACED + timedelta(hours=20)


def shipment_event(order: Order) -> dict[str, Any]:
    return envelope(
        SHIPMENT_SAVED,
        order.shipment(shipment_id=order.entity_id, at=SHIPPED),
        client_id=CLIENT_ID,
        at=SHIPPED,
    )


def expected_record(order: Order, *, shipped: bool) -> dict[str, Any]:
    """What the pure mapping says Dotdigital should hold for this order."""
    shipments = [CommerceShipment.model_validate(shipment_event(order)["data"]["value"])]
    updated = order_updated(
        CommerceOrder.model_validate(order_event(order)["data"]["value"]),
        shipments if shipped else [],
        event_id="expected",
        occurred_at=PLACED,
    )
    return orders_record(updated).json_


def landed_record(stack: Stack, order: Order, **match: Any) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        record = stack.dotdigital.record(email_of(order), "Orders", order.increment_id)
        if record and all(record["json"].get(k) == v for k, v in match.items()):
            return record
        return None

    try:
        return eventually(check, timeout=60, what=f"order {order.increment_id} in Dotdigital")
    except AssertionError:
        print(stack.logs())
        raise


def test_guest_order_then_shipment_reaches_dotdigital_with_totals_lines_and_options(
    stack: Stack,
) -> None:
    order = new_order()
    accepted(stack.deliver(order_event(order)))
    accepted(stack.deliver(shipment_event(order)))

    record = landed_record(stack, order, fulfilled=True)

    assert record["key"] == order.increment_id
    document = record["json"]
    assert document == expected_record(order, shipped=True)
    assert document["email"] == email_of(order)
    assert document["orderTotal"] == float(order.grand_total)
    assert document["orderSubtotal"] == 118.0
    assert document["discountAmount"] == -10.0
    assert document["deliveryTotal"] == 4.99
    assert document["currency"] == "GBP"
    assert document["couponCode"] == "WELCOME10"
    kit, bag = document["products"]
    assert (kit["sku"], kit["name"], kit["qty"], kit["price"]) == (
        "MJ01-S-Red",
        "Beaumont Summit Kit",
        2,
        42.0,
    )
    assert kit["parent_id"] == 1400
    assert kit["custom-options"] == [{"Engraving": "For Mum"}]
    assert (bag["sku"], bag["qty"]) == ("24-MB01", 1)

    contact = stack.dotdigital.contact(email_of(order))
    assert contact is not None
    assert contact["identifiers"]["email"] == email_of(order)
    assert contact["dataFields"]["CUSTOMER_TYPE"] == "guest"
    assert contact["dataFields"]["LAST_ORDER_ID"] == order.increment_id


def test_the_same_delivery_twice_leaves_one_record(stack: Stack) -> None:
    order = new_order()
    event = order_event(order)

    first = accepted(stack.deliver(event))
    second = accepted(stack.deliver(event))

    assert (first["accepted"], second["accepted"], second["duplicates"]) == (1, 0, 1)
    landed_record(stack, order)
    raw = read_topic(
        stack.bootstrap,
        "commerce.raw.v1",
        lambda records: any(r["value"]["eventid"] == event["eventid"] for r in records),
    )
    assert sum(r["value"]["eventid"] == event["eventid"] for r in raw) == 1
    assert len(stack.dotdigital.records(email_of(order), "Orders")) == 1


def test_a_republished_event_under_a_new_id_still_leaves_one_record(stack: Stack) -> None:
    order = new_order()
    accepted(stack.deliver(order_event(order)))
    accepted(stack.deliver(order_event(order)))  # same content, new eventid

    landed_record(stack, order)
    other = new_order(email=order.email)
    accepted(stack.deliver(order_event(other)))  # a later order for the same contact
    landed_record(stack, other)

    keys = sorted(r["key"] for r in stack.dotdigital.records(email_of(order), "Orders"))
    assert keys == sorted([order.increment_id, other.increment_id])


def test_shipment_before_order_gives_the_same_end_state(stack: Stack) -> None:
    order = new_order()
    accepted(stack.deliver(shipment_event(order)))
    accepted(stack.deliver(order_event(order)))

    record = landed_record(stack, order, fulfilled=True)

    assert record["json"] == expected_record(order, shipped=True)


def test_forged_signature_is_refused_and_never_published(stack: Stack) -> None:
    forged = order_event(new_order())
    marker_order = new_order()
    marker = order_event(marker_order)

    response = stack.deliver(forged, forged=True)
    accepted(stack.deliver(marker))

    assert response.status_code == 401
    raw = read_topic(
        stack.bootstrap,
        "commerce.raw.v1",
        lambda records: any(r["value"]["eventid"] == marker["eventid"] for r in records),
    )
    assert all(r["value"]["eventid"] != forged["eventid"] for r in raw)


def test_unsigned_delivery_is_refused(stack: Stack) -> None:
    response = httpx.post(stack.webhook, json=order_event(new_order()), timeout=10)

    assert response.status_code == 401
    assert "signature" in response.json()["error"]


def test_delivery_for_another_client_id_is_refused(stack: Stack) -> None:
    event = order_event(new_order())
    event["recipientclientid"] = "someone-else"

    assert stack.deliver(event).status_code == 403


def test_malformed_payloads_are_dead_lettered_and_later_events_still_arrive(stack: Stack) -> None:
    broken_json = b'{"specversion": "1.0", "type": "com.adobe.commerce.observer.sales_order'
    bad_email = order_event(new_order(email="not an email"))
    bad_total_order = new_order()
    bad_total = order_event(bad_total_order)
    bad_total["data"]["value"]["grand_total"] = "a lot"
    good = new_order()

    assert accepted(stack.deliver(broken_json))["dead_lettered"] == 1
    accepted(stack.deliver(bad_email))
    accepted(stack.deliver(bad_total))
    accepted(stack.deliver(order_event(good)))

    landed_record(stack, good)
    letters = read_topic(
        stack.bootstrap,
        "cartwright.deadletter.v1",
        lambda records: (
            {"malformed_json", "invalid_email", "invalid_payload"}
            <= {r["value"]["reason"] for r in records}
        ),
    )
    by_reason = {r["value"]["reason"]: r["value"] for r in letters}
    assert "grand_total" in by_reason["invalid_payload"]["detail"]
    exceptions = read_topic(
        stack.bootstrap,
        "cartwright.exceptions.v1",
        lambda records: any(
            r["value"]["subject"] == f"order {bad_total_order.increment_id}" for r in records
        ),
    )
    report = next(
        r["value"]
        for r in exceptions
        if r["value"]["subject"] == f"order {bad_total_order.increment_id}"
    )
    assert report["reason"] == "invalid_payload"
    assert report["severity"] == "error"


def test_adobe_challenge_is_answered(stack: Stack) -> None:
    response = httpx.get(stack.webhook, params={"challenge": "8ec8d794-e0ab"}, timeout=10)

    assert response.status_code == 200
    assert response.json() == {"challenge": "8ec8d794-e0ab"}
