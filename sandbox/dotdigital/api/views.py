"""How stored objects look on the wire: v3 and v2 contacts, suppressions, records, enrolments."""

from __future__ import annotations

from typing import Any

from sandbox.dotdigital.account.contact import Contact
from sandbox.dotdigital.account.insight import Record
from sandbox.dotdigital.account.programs import Enrolment
from sandbox.dotdigital.account.store import ContactStore, Suppression
from sandbox.dotdigital.account.timestamps import iso

V3_PARTS = frozenset({"dataFields", "channelProperties", "lists", "preferences", "consentRecords"})


def capitalised(word: str) -> str:
    """`plainText` -> `PlainText`: responses capitalise the enum values requests send."""
    return word[:1].upper() + word[1:]


def contact_v3(contact: Contact, parts: frozenset[str] = V3_PARTS) -> dict[str, Any]:
    """A v3 contact; `parts` picks the optional sections (the change feed's `include`)."""
    identifiers: dict[str, str] = {"email": contact.email}
    if contact.mobile_number is not None:
        identifiers["mobileNumber"] = contact.mobile_number
    body: dict[str, Any] = {
        "contactId": contact.contact_id,
        "status": contact.status,
        "created": iso(contact.created),
        "updated": iso(contact.updated),
        "identifiers": identifiers,
    }
    sections: dict[str, Any] = {
        "dataFields": dict(contact.data_fields),
        "channelProperties": {
            "email": {
                "emailType": capitalised(contact.email_type),
                "optInType": capitalised(contact.opt_in_type),
                "status": contact.status,
            }
        },
        "lists": [{"id": i, "name": f"List {i}", "status": "subscribed"} for i in contact.lists],
        "preferences": [],
        "consentRecords": [],
    }
    body.update((name, value) for name, value in sections.items() if name in parts)
    return body


def contact_v2(contact: Contact) -> dict[str, Any]:
    """A v2 contact: PascalCase enums, data fields as key/value pairs."""
    return {
        "id": contact.contact_id,
        "email": contact.email,
        "optInType": capitalised(contact.opt_in_type),
        "emailType": capitalised(contact.email_type),
        "dataFields": [{"key": k, "value": v} for k, v in contact.data_fields.items()],
        "status": capitalised(contact.status),
    }


def suppression_v2(entry: Suppression, contact: Contact) -> dict[str, Any]:
    """A row of the v2 unsubscribe/suppression feeds and the unsubscribe answer."""
    return {
        "suppressedContact": contact_v2(contact),
        "dateRemoved": iso(entry.date_removed),
        "reason": entry.reason,
    }


def suppression_feed_v2(
    store: ContactStore, since: float, reasons: frozenset[str] | None, skip: int, select: int
) -> list[dict[str, Any]]:
    """One page of the v2 `unsubscribed-since` / `suppressed-since` feeds."""
    page = []
    for entry in store.suppressions_since(since, reasons)[skip : skip + select]:
        contact = store.by_id(entry.contact_id)
        if contact is not None:
            page.append(suppression_v2(entry, contact))
    return page


def record_v3(record: Record) -> dict[str, Any]:
    return {
        "key": record.key,
        "json": record.json,
        "created": iso(record.created),
        "updated": iso(record.updated),
    }


def enrolment_v2(enrolment: Enrolment) -> dict[str, Any]:
    return {
        "id": enrolment.enrolment_id,
        "programId": enrolment.program_id,
        "status": "Processing",
        "dateCreated": iso(enrolment.date_created),
        "contacts": list(enrolment.contacts),
    }
