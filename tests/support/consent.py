"""Consent changes as each side reports them, for the consent tests: one Commerce subscriber save,
one customer save, one row of Dotdigital's suppression feed."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.commerce.customers import CommerceCustomer
from schemas.contract.consent import ConsentChanged
from schemas.normalize.consent import from_customer, from_subscriber, from_suppression

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
EMAIL = "ada@example.com"


def commerce(
    status: int, *, at: datetime = T0, event: str = "c1", customer: int = 7
) -> ConsentChanged:
    """A Commerce newsletter subscriber save with `status` (1 to 4) for Ada."""
    return from_subscriber(
        {
            "subscriber_id": 3,
            "customer_id": customer,
            "subscriber_email": " Ada@Example.com ",
            "subscriber_status": status,
        },
        event_id=event,
        occurred_at=at,
    )


def feed(reason: str, *, at: datetime = T0, contact: int = 11) -> ConsentChanged:
    """A row of Dotdigital's suppression feed for Ada, removed at `at` for `reason`."""
    return from_suppression(
        {
            "suppressedContact": {"id": contact, "email": EMAIL},
            "dateRemoved": at.strftime("%Y-%m-%dT%H:%M:%S"),
            "reason": reason,
        }
    )


def customer_save(
    subscribed: bool, *, at: datetime = T0, event: str = "s1", customer: int = 7
) -> ConsentChanged:
    """A Commerce customer save for Ada carrying `is_subscribed` (as a backfill reads them)."""
    change = from_customer(
        CommerceCustomer.model_validate(
            {
                "id": customer,
                "email": EMAIL,
                "updated_at": at.strftime("%Y-%m-%d %H:%M:%S"),
                "extension_attributes": {"is_subscribed": subscribed},
            }
        ),
        event_id=event,
        occurred_at=at,
    )
    assert change is not None
    return change
