"""Consent as either side reports it → `ConsentChanged`: Commerce subscriber and customer saves,
Dotdigital's suppression feed rows and its answers to a re-subscribe."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ValidationError

from schemas.commerce.customers import CommerceCustomer, CommerceSubscriber
from schemas.contract.consent import ConsentChanged, ConsentSource, ConsentStatus
from schemas.email import normalize_email

# Commerce newsletter subscriber statuses.
SUBSCRIBER_STATUSES: dict[int, tuple[ConsentStatus, str]] = {
    1: (ConsentStatus.SUBSCRIBED, "newsletter status 1 (subscribed)"),
    2: (ConsentStatus.PENDING, "newsletter status 2 (not active: awaiting confirmation)"),
    3: (ConsentStatus.UNSUBSCRIBED, "newsletter status 3 (unsubscribed)"),
    4: (ConsentStatus.PENDING, "newsletter status 4 (unconfirmed)"),
}

# Dotdigital's answers to a v2 resubscribe.
ADDED = "ContactAdded"
CHALLENGED = "ContactChallenged"
CANNOT_BE_UNSUPPRESSED = "ContactCannotBeUnsuppressed"


def from_subscriber(
    value: Mapping[str, Any], *, event_id: str, occurred_at: datetime | None
) -> ConsentChanged:
    """A Commerce newsletter subscriber save (statuses 1 to 4, guests and customers).

    Its time is the event's (milliseconds), else the subscriber's `change_status_at` (seconds).
    """
    subscriber = CommerceSubscriber.model_validate(value)
    known = SUBSCRIBER_STATUSES.get(subscriber.subscriber_status)
    if known is None:
        raise ValueError(f"subscriber_status {subscriber.subscriber_status} is not 1, 2, 3 or 4")
    status, reason = known
    return ConsentChanged(
        email=normalize_email(subscriber.subscriber_email),
        status=status,
        source=ConsentSource.COMMERCE,
        reason=reason,
        occurred_at=occurred_at or subscriber.change_status_at or datetime.now(UTC),
        event_id=event_id,
        customer_id=subscriber.customer_id,
    )


def from_customer(
    customer: CommerceCustomer, *, event_id: str, occurred_at: datetime
) -> ConsentChanged | None:
    """A customer save that carries `extension_attributes.is_subscribed`, as some setups send.

    It is a snapshot: `false` is how Commerce shows everyone who never subscribed (every customer
    a backfill reads), so the join treats it as an opt-out only when it knew them subscribed.
    """
    if customer.is_subscribed is None:
        return None
    subscribed = customer.is_subscribed
    return ConsentChanged(
        email=normalize_email(customer.email),
        status=ConsentStatus.SUBSCRIBED if subscribed else ConsentStatus.UNSUBSCRIBED,
        source=ConsentSource.COMMERCE,
        reason=f"customer is_subscribed {'true' if subscribed else 'false'}",
        occurred_at=customer.updated_at or occurred_at,
        event_id=event_id,
        customer_id=customer.id,
        snapshot=True,
    )


class SuppressionRow(BaseModel):
    """One row of Dotdigital's `unsubscribed-since` / `suppressed-since` feeds."""

    contact_id: int
    email: str
    date_removed: AwareDatetime
    reason: str

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> SuppressionRow:
        if not isinstance(row, Mapping):
            raise ValueError("feed row is not an object")
        contact = row.get("suppressedContact")
        if not isinstance(contact, Mapping):
            raise ValueError("feed row has no suppressedContact")
        when = row.get("dateRemoved")
        if isinstance(when, str) and not when.endswith("Z") and "+" not in when[10:]:
            when += "Z"  # Dotdigital writes UTC, not always with a zone
        try:
            return cls.model_validate(
                {
                    "contact_id": contact.get("id"),
                    "email": contact.get("email"),
                    "date_removed": when,
                    "reason": row.get("reason") or "Suppressed",
                }
            )
        except ValidationError as exc:
            raise ValueError(f"feed row not understood: {exc.error_count()} problem(s)") from exc


def from_suppression(row: Mapping[str, Any]) -> ConsentChanged:
    """A feed row: `Unsubscribed` is an unsubscribe, every other reason a suppression."""
    parsed = SuppressionRow.parse(row)
    status = (
        ConsentStatus.UNSUBSCRIBED
        if parsed.reason.lower() == "unsubscribed"
        else ConsentStatus.SUPPRESSED
    )
    return ConsentChanged(
        email=normalize_email(parsed.email),
        status=status,
        source=ConsentSource.DOTDIGITAL,
        reason=parsed.reason,
        occurred_at=parsed.date_removed,
        # The same row in both feeds, or in an overlapping poll, is the same event.
        event_id=f"dotdigital:{parsed.contact_id}:{parsed.reason}:{parsed.date_removed.isoformat()}",
    )


def from_resubscribe(
    email: str, answer: str, *, request: str, at: datetime, contact_status: str | None = None
) -> ConsentChanged:
    """Dotdigital's answer to the re-subscribe sent for `request`."""
    if answer == ADDED:
        status, reason = ConsentStatus.SUBSCRIBED, "re-subscribed in Dotdigital"
    elif answer == CHALLENGED:
        status = ConsentStatus.PENDING
        reason = "Dotdigital sent a confirmation email; unsubscribed until it is clicked"
    else:
        status = ConsentStatus.SUPPRESSED
        why = f"the contact is {contact_status}" if contact_status else "the contact is suppressed"
        reason = (
            f"re-subscribe refused by Dotdigital ({answer}): {why}; a bounce, complaint or "
            "suppression is never lifted by a re-subscribe"
        )
    return ConsentChanged(
        email=email,
        status=status,
        source=ConsentSource.DOTDIGITAL,
        reason=reason,
        occurred_at=at,
        event_id=f"dotdigital:resubscribe:{request}",
        answers=request,
    )
