"""The per-email contact view folded from orders and customer saves, and its data fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.rules.contacts import contact_fields, fingerprint, fold_customer, fold_order

EMAIL = "ada@example.com"
FIRST_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SECOND_AT = FIRST_AT + timedelta(days=12)


def order(
    increment_id: str,
    *,
    placed_at: datetime,
    grand_total: str,
    total_refunded: str = "0",
    customer_id: int | None = None,
    firstname: str | None = "Ada",
    lastname: str | None = "Guest",
) -> OrderUpdated:
    return OrderUpdated(
        event_id=f"evt-{increment_id}",
        occurred_at=placed_at,
        email=EMAIL,
        entity_id=int(increment_id),
        increment_id=increment_id,
        state="processing",
        customer_id=customer_id,
        is_guest=customer_id is None,
        firstname=firstname,
        lastname=lastname,
        grand_total=Decimal(grand_total),
        total_refunded=Decimal(total_refunded),
        placed_at=placed_at,
        updated_at=placed_at,
    )


def customer(**changes: Any) -> CustomerUpdated:
    fields: dict[str, Any] = {
        "event_id": "evt-customer",
        "occurred_at": SECOND_AT,
        "email": EMAIL,
        "customer_id": 77,
        "firstname": "Augusta",
        "lastname": "King",
    }
    return CustomerUpdated(**{**fields, **changes})


GUEST = order("000000001", placed_at=FIRST_AT, grand_total="50.00", total_refunded="10.00")
REGISTERED = order(
    "000000002", placed_at=SECOND_AT, grand_total="120.25", customer_id=77, lastname="Lovelace"
)


def test_guest_then_registered_orders_make_one_registered_contact() -> None:
    state = fold_order(fold_order(None, GUEST), REGISTERED)

    fields = contact_fields(state).data_fields

    assert state.email == EMAIL
    assert set(state.orders) == {"000000001", "000000002"}
    assert (state.customer_id, state.registered) == (77, True)
    assert fields["ORDER_COUNT"] == 2
    assert fields["LIFETIME_VALUE"] == 40.00 + 120.25  # net totals: refunds are taken off
    assert fields["CUSTOMER_TYPE"] == "registered"
    assert fields["CUSTOMER_ID"] == 77
    assert fields["FIRST_ORDER_DATE"] == "2026-03-01T09:30:00Z"
    assert fields["LAST_ORDER_DATE"] == "2026-03-13T09:30:00Z"
    assert fields["LAST_ORDER_ID"] == "000000002"


def test_registered_then_guest_order_stays_registered() -> None:
    state = fold_order(fold_order(None, REGISTERED), GUEST)

    assert state.registered is True
    assert state.customer_id == 77
    assert contact_fields(state).data_fields["LAST_ORDER_ID"] == "000000002"


def test_guest_only_contact_is_typed_guest() -> None:
    fields = contact_fields(fold_order(None, GUEST)).data_fields

    assert fields["CUSTOMER_TYPE"] == "guest"
    assert "CUSTOMER_ID" not in fields
    assert fields["ORDER_COUNT"] == 1


def test_a_new_version_of_an_order_replaces_its_summary() -> None:
    refunded = GUEST.model_copy(update={"total_refunded": Decimal("50.00")})

    state = fold_order(fold_order(None, GUEST), refunded)

    fields = contact_fields(state).data_fields
    assert fields["ORDER_COUNT"] == 1
    assert fields["LIFETIME_VALUE"] == 0.0


def test_first_order_names_are_kept_over_later_order_names() -> None:
    state = fold_order(fold_order(None, GUEST), REGISTERED)

    assert (state.firstname, state.lastname) == ("Ada", "Guest")


def test_customer_account_names_win_over_order_names() -> None:
    state = fold_customer(fold_order(None, GUEST), customer())

    fields = contact_fields(state).data_fields
    assert (fields["FIRSTNAME"], fields["LASTNAME"]) == ("Augusta", "King")
    assert fields["CUSTOMER_TYPE"] == "registered"
    assert fields["CUSTOMER_ID"] == 77


def test_customer_without_names_keeps_the_known_ones() -> None:
    state = fold_customer(fold_order(None, GUEST), customer(firstname=None, lastname=None))

    assert (state.firstname, state.lastname) == ("Ada", "Guest")


def test_order_after_customer_save_does_not_override_account_names() -> None:
    state = fold_order(fold_customer(None, customer()), GUEST)

    assert (state.firstname, state.lastname) == ("Augusta", "King")
    assert state.registered is True


def test_contact_without_orders_sends_no_order_fields() -> None:
    fields = contact_fields(fold_customer(None, customer())).data_fields

    assert fields == {
        "FIRSTNAME": "Augusta",
        "LASTNAME": "King",
        "CUSTOMER_ID": 77,
        "CUSTOMER_TYPE": "registered",
    }


def test_fingerprint_is_stable_across_key_order() -> None:
    one = {"b": 1, "a": {"y": [1, 2], "x": "z"}}
    other = {"a": {"x": "z", "y": [1, 2]}, "b": 1}

    assert fingerprint(one) == fingerprint(other)


def test_fingerprint_changes_with_any_value() -> None:
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert fingerprint({"a": [1, 2]}) != fingerprint({"a": [2, 1]})


def test_fingerprint_of_data_fields_is_the_same_for_the_same_state() -> None:
    first = fold_order(fold_order(None, GUEST), REGISTERED)
    second = fold_order(fold_order(None, GUEST), REGISTERED)

    assert fingerprint(contact_fields(first).data_fields) == fingerprint(
        contact_fields(second).data_fields
    )
