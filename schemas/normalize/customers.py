"""Pure customer mapping: a Commerce customer save → `CustomerUpdated`."""

from __future__ import annotations

from datetime import datetime

from schemas.commerce.customers import CommerceCustomer
from schemas.contract.normalized import CustomerUpdated
from schemas.email import InvalidEmail, normalize_email


def customer_updated(
    customer: CommerceCustomer, *, event_id: str, occurred_at: datetime
) -> CustomerUpdated:
    """Normalize a customer save; the previous email is kept when this save changed it."""
    email = normalize_email(customer.email)
    previous: str | None
    try:
        previous = normalize_email(customer.orig_email) if customer.orig_email else None
    except InvalidEmail:
        previous = None
    return CustomerUpdated(
        event_id=event_id,
        occurred_at=occurred_at,
        email=email,
        previous_email=previous if previous != email else None,
        customer_id=customer.id,
        firstname=customer.firstname,
        lastname=customer.lastname,
        group_id=customer.group_id,
        store_id=customer.store_id,
        website_id=customer.website_id,
        updated_at=customer.updated_at,
    )
