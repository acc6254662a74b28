"""The consent gate: no enrolment and no re-subscribe for a contact who opted out since, and no
write-back to Commerce for one who has opted in since."""

from __future__ import annotations

from collections.abc import Callable

from schemas.rules.consent import (
    ConsentState,
    dotdigital_refusal,
    enrolment_refusal,
    resubscribe_refusal,
    write_back_refusal,
)

ConsentLookup = Callable[[str], ConsentState | None]


class ConsentGate:
    """Asks the worker's `contacts` table, as it is at the moment of writing, and Dotdigital's
    own status of the contact, so a command issued before an opt-out never goes out after it."""

    def __init__(self, consent_of: ConsentLookup | None = None) -> None:
        self._consent_of = consent_of or (lambda _email: None)

    def enrolment(self, email: str, dotdigital_status: str | None = None) -> str | None:
        """Why the enrolment must be skipped, or None."""
        return enrolment_refusal(self._consent_of(email)) or dotdigital_refusal(dotdigital_status)

    def write_back(self, email: str) -> str | None:
        """Why a Commerce write-back for `email` must be skipped, or None."""
        return write_back_refusal(self._consent_of(email))

    def resubscribe(self, email: str, request: str) -> str | None:
        """Why the re-subscribe sent for consent change `request` must be skipped, or None."""
        return resubscribe_refusal(self._consent_of(email), request)
