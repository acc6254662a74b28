"""The account's contacts and their consent log, shared by the v2 and v3 surfaces (no HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.dotdigital.account.contact import (
    ALL_STATUSES,
    SUPPRESSION_REASONS,
    Contact,
    ContactChange,
    ContactRejected,
    IdentifierTaken,
    MergeOption,
    ResubscribeOutcome,
    merge_fields,
    next_status,
    normalize_email,
    require_email,
    resubscribe_outcome,
)


@dataclass(frozen=True)
class Suppression:
    """A contact currently on the unsubscribe/suppression list, and since when."""

    contact_id: int
    email: str
    reason: str
    date_removed: float


class ContactStore:
    """All contacts of the account, plus who is unsubscribed or suppressed and since when."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._by_email: dict[str, Contact] = {}
        self._by_id: dict[int, Contact] = {}
        self._suppressions: dict[int, Suppression] = {}
        # Contacts sent a confirmation email by a challenged resubscribe, not clicked yet.
        self._challenged: set[int] = set()
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._by_email)

    def get(self, email: str) -> Contact | None:
        return self._by_email.get(normalize_email(email))

    def all(self) -> list[Contact]:
        """Every contact, oldest first."""
        return sorted(self._by_id.values(), key=lambda c: c.contact_id)

    def by_id(self, contact_id: int) -> Contact | None:
        return self._by_id.get(contact_id)

    def suppression(self, contact_id: int) -> Suppression | None:
        return self._suppressions.get(contact_id)

    def upsert(
        self, path_email: str, change: ContactChange, option: MergeOption
    ) -> tuple[Contact, bool]:
        """Create or update by email; returns the contact and whether it was created."""
        email = require_email(path_email)
        contact = self._by_email.get(email)
        if contact is None and change.email is not None:
            contact = self._by_email.get(change.email)
        created = contact is None
        if contact is None:
            contact = self._create(change.email or email)
        elif change.email is not None and change.email != contact.email:
            self._rename(contact, change.email)
        if change.mobile_number is not None:
            contact.mobile_number = change.mobile_number
        if change.data_fields is not None:
            contact.data_fields = merge_fields(contact.data_fields, change.data_fields, option)
        if change.email_type is not None:
            contact.email_type = change.email_type
        if change.opt_in_type is not None:
            contact.opt_in_type = change.opt_in_type
        if change.lists is not None:
            contact.lists.extend(i for i in change.lists if i not in contact.lists)
        status = next_status(contact.status, change.status)
        if status is not None:
            self._set_status(contact, status)
        contact.updated = self._clock()
        return contact, created

    def unsubscribe(self, raw_email: str) -> tuple[Contact, Suppression]:
        """v2 global unsubscribe; creates the contact if unknown. Repeats change nothing."""
        contact = self._get_or_create(require_email(raw_email))
        if contact.status not in SUPPRESSION_REASONS:
            self._set_status(contact, "unsubscribed")
            contact.updated = self._clock()
        return contact, self._suppressions[contact.contact_id]

    def resubscribe(
        self, raw_email: str, data_fields: Mapping[str, Any], *, challenge: bool
    ) -> tuple[Contact, ResubscribeOutcome]:
        """v2 resubscribe: suppressions stay, a challenge leaves the contact unsubscribed."""
        email = require_email(raw_email)
        existing = self._by_email.get(email)
        outcome = resubscribe_outcome(existing.status if existing else None, challenge=challenge)
        contact = existing or self._create(email)
        if outcome is not ResubscribeOutcome.CANNOT_BE_UNSUPPRESSED:
            contact.data_fields = merge_fields(
                contact.data_fields, data_fields, MergeOption.OVERWRITE
            )
            if outcome is ResubscribeOutcome.ADDED:
                self._set_status(contact, "subscribed")
            else:
                self._challenged.add(contact.contact_id)
            contact.updated = self._clock()
        return contact, outcome

    def confirm(self, raw_email: str) -> Contact:
        """The person clicked the confirmation email of a challenged resubscribe: subscribed,
        unless something else (a bounce, a complaint) happened to them since."""
        contact = self._by_email.get(require_email(raw_email))
        if contact is None or contact.contact_id not in self._challenged:
            raise ContactRejected("email", "No confirmation email is waiting for this contact.")
        self._challenged.discard(contact.contact_id)
        if contact.status == "unsubscribed":
            self._set_status(contact, "subscribed")
            contact.updated = self._clock()
        return contact

    def force_status(self, raw_email: str, status: str) -> Contact:
        """A Dotdigital-side event (bounce, complaint, click-through): any status, no rules."""
        if status not in ALL_STATUSES:
            raise ContactRejected("status", f"Must be one of {', '.join(sorted(ALL_STATUSES))}.")
        contact = self._get_or_create(require_email(raw_email))
        self._set_status(contact, status)
        contact.updated = self._clock()
        return contact

    def modified_since(
        self, since: float, after: tuple[float, int] | None, limit: int
    ) -> tuple[list[Contact], bool]:
        """Contacts updated at or after `since`, oldest first, after the keyset `after`."""
        rows = sorted(
            (c for c in self._by_email.values() if c.updated >= since),
            key=lambda c: (c.updated, c.contact_id),
        )
        if after is not None:
            rows = [c for c in rows if (c.updated, c.contact_id) > after]
        return rows[:limit], len(rows) > limit

    def suppressions_since(self, since: float, reasons: frozenset[str] | None) -> list[Suppression]:
        """Current suppressions dated at or after `since`, oldest first (None = every reason)."""
        rows = [
            s
            for s in self._suppressions.values()
            if s.date_removed >= since and (reasons is None or s.reason in reasons)
        ]
        return sorted(rows, key=lambda s: (s.date_removed, s.contact_id))

    def _get_or_create(self, email: str) -> Contact:
        return self._by_email.get(email) or self._create(email)

    def _create(self, email: str) -> Contact:
        now = self._clock()
        contact = Contact(contact_id=self._next_id, email=email, created=now, updated=now)
        self._next_id += 1
        self._by_email[email] = contact
        self._by_id[contact.contact_id] = contact
        return contact

    def _rename(self, contact: Contact, email: str) -> None:
        if email in self._by_email:
            raise IdentifierTaken(email, "Another contact already has this email.")
        del self._by_email[contact.email]
        contact.email = email
        self._by_email[email] = contact
        entry = self._suppressions.get(contact.contact_id)
        if entry is not None:
            self._suppressions[contact.contact_id] = Suppression(
                entry.contact_id, email, entry.reason, entry.date_removed
            )

    def _set_status(self, contact: Contact, status: str) -> None:
        """Change the status and keep the suppression list in step with it."""
        if status == contact.status and contact.contact_id in self._suppressions:
            return
        contact.status = status
        reason = SUPPRESSION_REASONS.get(status)
        if reason is None:
            self._suppressions.pop(contact.contact_id, None)
        else:
            self._suppressions[contact.contact_id] = Suppression(
                contact.contact_id, contact.email, reason, self._clock()
            )
