"""A contact and the rules for changing one: validation, merge options, consent transitions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")

# What a request may ask for (`channelProperties.email.status`).
REQUEST_STATUSES = frozenset({"subscribed", "unsubscribed", "suppressed"})
# Statuses nothing sent through the API can lift: a subscribe, an unsubscribe or a v2
# resubscribe leaves them as they are. Only Dotdigital-side events (the admin surface) move them.
SUPPRESSED_STATUSES = frozenset(
    {"hardBounced", "ispComplained", "directComplaint", "suppressed", "domainSuppressed"}
)
ALL_STATUSES = frozenset(
    {"subscribed", "softBounced", "pendingOptIn", "deleted", "unsubscribed"} | SUPPRESSED_STATUSES
)
BINNED_STATUS = "deleted"  # in the recycle bin: an upsert restores the contact
EMAIL_TYPES = frozenset({"plainText", "html"})
OPT_IN_TYPES = frozenset({"unknown", "single", "double", "verifiedDouble"})
# Status -> the `reason` the v2 feeds give for it. A status not listed is not a suppression.
SUPPRESSION_REASONS: dict[str, str] = {
    "unsubscribed": "Unsubscribed",
    "hardBounced": "HardBounced",
    "ispComplained": "IspComplained",
    "directComplaint": "DirectComplaint",
    "suppressed": "Suppressed",
    "domainSuppressed": "DomainSuppressed",
}


class ContactRejected(ValueError):
    """A contact request the account refuses; `item` names the offending value."""

    def __init__(self, item: str, description: str) -> None:
        super().__init__(f"{item}: {description}")
        self.item = item
        self.description = description


class InvalidEmail(ContactRejected):
    """The email identifier is not an email address."""


class IdentifierTaken(ContactRejected):
    """The requested email already belongs to another contact."""


class MergeOption(StrEnum):
    """How incoming data fields treat the values a contact already has."""

    OVERWRITE = "overwrite"
    OVERWRITE_IF_NOT_EMPTY = "overwrite-if-not-empty"
    OVERWRITE_IF_EMPTY = "overwrite-if-empty"

    @classmethod
    def parse(cls, text: str) -> MergeOption:
        """Accept the PATCH query spelling and the import body's camelCase spelling."""
        camel = {
            "overwriteIfNotEmpty": "overwrite-if-not-empty",
            "overwriteIfEmpty": "overwrite-if-empty",
        }
        return cls(camel.get(text, text))


class ResubscribeOutcome(StrEnum):
    """The v2 resubscribe answers."""

    ADDED = "ContactAdded"
    CHALLENGED = "ContactChallenged"
    CANNOT_BE_UNSUPPRESSED = "ContactCannotBeUnsuppressed"


@dataclass
class Contact:
    """One contact, keyed by lower-cased email."""

    contact_id: int
    email: str
    created: float
    updated: float
    status: str = "subscribed"
    email_type: str = "html"
    opt_in_type: str = "unknown"
    mobile_number: str | None = None
    data_fields: dict[str, Any] = field(default_factory=dict)
    lists: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ContactChange:
    """The parts of an upsert request that were actually sent (None = not sent)."""

    email: str | None = None
    mobile_number: str | None = None
    data_fields: dict[str, Any] | None = None
    status: str | None = None
    email_type: str | None = None
    opt_in_type: str | None = None
    lists: list[int] | None = None


def normalize_email(raw: str) -> str:
    """The contact key: trimmed and lower-cased."""
    return raw.strip().lower()


def require_email(raw: object) -> str:
    """The normalized email, or InvalidEmail."""
    if not isinstance(raw, str) or not EMAIL_PATTERN.match(normalize_email(raw)):
        raise InvalidEmail(str(raw), "Email is not a valid email address.")
    return normalize_email(raw)


def merge_fields(
    current: Mapping[str, Any], incoming: Mapping[str, Any], option: MergeOption
) -> dict[str, Any]:
    """Data fields after an upsert: only sent keys change; null clears under `overwrite`."""
    merged = dict(current)
    for key, value in incoming.items():
        new_empty = value is None or value == ""
        old_empty = merged.get(key) in (None, "")
        if option is MergeOption.OVERWRITE:
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        elif option is MergeOption.OVERWRITE_IF_NOT_EMPTY:
            if not new_empty:
                merged[key] = value
        elif old_empty and not new_empty:
            merged[key] = value
    return merged


def next_status(current: str | None, requested: str | None) -> str | None:
    """The email status after an upsert asking for `requested` (None: no change asked for).

    Suppressions are never lifted; a binned contact is restored, subscribed unless asked
    otherwise. None means the status stays as it is.
    """
    if requested is None:
        return "subscribed" if current == BINNED_STATUS else None
    if current in SUPPRESSED_STATUSES:
        return current
    return requested


def resubscribe_outcome(current: str | None, *, challenge: bool) -> ResubscribeOutcome:
    """What v2 resubscribe answers for a contact in `current` status (None = no contact)."""
    if current in SUPPRESSED_STATUSES:
        return ResubscribeOutcome.CANNOT_BE_UNSUPPRESSED
    if current == "unsubscribed" and challenge:
        return ResubscribeOutcome.CHALLENGED
    return ResubscribeOutcome.ADDED


def parse_change(body: Mapping[str, Any]) -> ContactChange:
    """Validate a v3 contact body (PATCH or one import row) into a ContactChange."""
    match = body.get("matchIdentifier", "email")
    if match != "email":
        raise ContactRejected("matchIdentifier", "Only the email identifier is supported.")
    identifiers = _mapping(body, "identifiers")
    email = require_email(identifiers["email"]) if "email" in identifiers else None
    mobile = identifiers.get("mobileNumber")
    if mobile is not None and not isinstance(mobile, str):
        raise ContactRejected("identifiers.mobileNumber", "Must be a string.")
    data_fields = body.get("dataFields")
    if data_fields is not None and not isinstance(data_fields, dict):
        raise ContactRejected("dataFields", "Must be an object.")
    channel = _mapping(_mapping(body, "channelProperties"), "email")
    status = _choice(channel, "status", REQUEST_STATUSES)
    email_type = _choice(channel, "emailType", EMAIL_TYPES)
    opt_in_type = _choice(channel, "optInType", OPT_IN_TYPES)
    lists = body.get("lists")
    if lists is not None and not (
        isinstance(lists, list)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in lists)
    ):
        raise ContactRejected("lists", "Must be a list of list ids.")
    return ContactChange(email, mobile, data_fields, status, email_type, opt_in_type, lists)


def _mapping(body: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ContactRejected(name, "Must be an object.")
    return value


def _choice(body: Mapping[str, Any], name: str, allowed: frozenset[str]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise ContactRejected(name, f"Must be one of {', '.join(sorted(allowed))}.")
    return str(value)
