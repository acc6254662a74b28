"""Consent as either side reports it, read as consent changes."""

from __future__ import annotations

import pytest

from schemas.commerce.customers import CommerceCustomer
from schemas.contract.consent import ConsentStatus
from schemas.normalize.consent import (
    from_customer,
    from_suppression,
)
from tests.support.consent import EMAIL, T0, commerce, feed


def test_subscriber_statuses_map_to_consent_statuses() -> None:
    assert [commerce(n).status for n in (1, 2, 3, 4)] == [
        ConsentStatus.SUBSCRIBED,
        ConsentStatus.PENDING,
        ConsentStatus.UNSUBSCRIBED,
        ConsentStatus.PENDING,
    ]
    assert commerce(3).email == EMAIL
    assert commerce(3, customer=0).customer_id is None  # guests have customer_id 0
    with pytest.raises(ValueError, match="subscriber_status 9"):
        commerce(9)


def test_customer_is_subscribed_is_a_consent_event_only_when_sent() -> None:
    plain = CommerceCustomer.model_validate({"id": 7, "email": EMAIL})
    assert from_customer(plain, event_id="e", occurred_at=T0) is None
    sent = CommerceCustomer.model_validate(
        {"id": 7, "email": EMAIL, "extension_attributes": {"is_subscribed": "0"}}
    )
    change = from_customer(sent, event_id="e", occurred_at=T0)
    assert change is not None and change.status is ConsentStatus.UNSUBSCRIBED
    # A snapshot of the record, not an action: the join decides whether it is an opt-out.
    assert change.snapshot
    assert not commerce(3).snapshot


def test_feed_rows_are_unsubscribes_or_suppressions_with_stable_ids() -> None:
    assert feed("Unsubscribed").status is ConsentStatus.UNSUBSCRIBED
    assert feed("HardBounced").status is ConsentStatus.SUPPRESSED
    assert feed("HardBounced").occurred_at == T0
    assert feed("HardBounced").event_id == feed("HardBounced").event_id
    with pytest.raises(ValueError, match="suppressedContact"):
        from_suppression({"dateRemoved": "2026-11-26T10:00:00", "reason": "Unsubscribed"})
