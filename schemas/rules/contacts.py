"""The per-email contact view: identity, names and purchase summary, folded from normalized events."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, Field

from schemas.contract.normalized import CustomerUpdated, OrderUpdated
from schemas.contract.refunds import RefundRecorded
from schemas.dotdigital.bodies import ContactUpsert
from schemas.dotdigital.contacts import contact_upsert
from schemas.rules.consent import ConsentState, merge_consent


class OrderSummary(BaseModel):
    """What a contact's data fields need to know about one of their orders."""

    increment_id: str
    net_total: Decimal
    placed_at: datetime
    state: str | None = None


class ContactState(BaseModel):
    """The `contacts` table value for one normalized email."""

    email: str
    customer_id: int | None = None
    firstname: str | None = None
    lastname: str | None = None
    registered: bool = False
    orders: dict[str, OrderSummary] = Field(default_factory=dict)
    synced_fields: str | None = Field(
        default=None, description="fingerprint of the data fields last sent to Dotdigital"
    )
    first_order_enrolled: bool = False
    moved_to: str | None = Field(
        default=None, description="this email changed: the contact lives on under this one"
    )
    write_key: str | None = Field(
        default=None,
        description="the writes-topic key of this contact's lineage (its first email), so the "
        "writes before and after an email change stay in one partition, in order",
    )
    awaiting_handover: str | None = Field(
        default=None, description="changed from this email: writes wait for its history"
    )
    consent: ConsentState | None = Field(
        default=None, description="the newest consent either side reported, by the rules"
    )
    waiting_refunds: list[RefundRecorded] = Field(
        default_factory=list,
        description="credit memos that came while the contact awaited its history (see "
        "awaiting_handover): written once it is renamed",
    )


class OrderState(BaseModel):
    """The `orders` table value for one order: the snapshot applied and the record last sent."""

    email: str
    order: OrderUpdated
    synced_record: str | None = None
    enrolled: list[str] = Field(default_factory=list, description="post-purchase triggers done")


def fingerprint(document: Any) -> str:
    """A stable digest of a JSON-able document, to tell whether a write would change anything."""
    canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()


def fold_order(state: ContactState | None, order: OrderUpdated) -> ContactState:
    """The contact after one of their orders changed."""
    state = state or ContactState(email=order.email)
    summary = OrderSummary(
        increment_id=order.increment_id,
        net_total=order.grand_total - order.total_refunded,
        placed_at=order.placed_at,
        state=order.state,
    )
    return state.model_copy(
        update={
            "customer_id": order.customer_id or state.customer_id,
            "firstname": state.firstname or order.firstname,
            "lastname": state.lastname or order.lastname,
            "registered": state.registered or not order.is_guest,
            "orders": {**state.orders, order.increment_id: summary},
        }
    )


def fold_customer(state: ContactState | None, customer: CustomerUpdated) -> ContactState:
    """The contact after their customer account was saved; the account's names win."""
    state = state or ContactState(email=customer.email)
    return state.model_copy(
        update={
            "customer_id": customer.customer_id,
            "firstname": customer.firstname or state.firstname,
            "lastname": customer.lastname or state.lastname,
            "registered": True,
        }
    )


def contact_fields(state: ContactState, names: Mapping[str, str] | None = None) -> ContactUpsert:
    """The upsert that makes the Dotdigital contact match this state (`names`: the account's
    own data field names, where the merchant renamed them)."""
    # A cancelled order stays in Dotdigital with its status but is not a purchase.
    orders = sorted(
        (summary for summary in state.orders.values() if summary.state != "canceled"),
        key=lambda summary: summary.placed_at,
    )
    return contact_upsert(
        state.email,
        firstname=state.firstname,
        lastname=state.lastname,
        customer_id=state.customer_id,
        is_guest=not state.registered,
        # Once a contact has ordered, the counters are always sent (0 after a cancellation).
        order_count=len(orders) if state.orders else None,
        lifetime_value=sum((o.net_total for o in orders), Decimal(0)) if state.orders else None,
        first_order_at=orders[0].placed_at if orders else None,
        last_order_at=orders[-1].placed_at if orders else None,
        last_order_id=orders[-1].increment_id if orders else None,
        names=names,
    )


class ContactHandover(BaseModel):
    """`cartwright.identity.v1` (key: the new email): a contact's history after an email change."""

    schema_version: int = 1
    email: str
    previous_email: str
    contact: ContactState | None = None
    orders: list[OrderState] = Field(default_factory=list)
    event_id: str


def merge_contacts(current: ContactState | None, moved: ContactState, email: str) -> ContactState:
    """The contact under its new email, with the history it had under the old one."""
    current = current or ContactState(email=email)
    return current.model_copy(
        update={
            "customer_id": current.customer_id or moved.customer_id,
            "firstname": current.firstname or moved.firstname,
            "lastname": current.lastname or moved.lastname,
            "registered": current.registered or moved.registered,
            "orders": {**moved.orders, **current.orders},
            "first_order_enrolled": current.first_order_enrolled or moved.first_order_enrolled,
            "consent": merge_consent(current.consent, moved.consent),
        }
    )
