"""What an exception means for campaigns and in plain words, worked out from its record."""

from __future__ import annotations

import re

from schemas.contract.incidents import Reason

# Why, in the words an ecommerce or marketing person reads (the record's message says the rest).
WHY = {
    Reason.MALFORMED_JSON: "the event was not valid JSON",
    Reason.INVALID_ENVELOPE: "the event was not shaped as Adobe I/O sends events",
    Reason.UNKNOWN_EVENT_TYPE: "an event type Cartwright does not use",
    Reason.INVALID_PAYLOAD: "the record's content is not what Commerce sends",
    Reason.MISSING_EMAIL: "the record has no email address",
    Reason.INVALID_EMAIL: "the record's email address is not a valid address",
    Reason.PAYLOAD_TOO_LARGE: "the record is larger than Cartwright accepts",
    Reason.DOTDIGITAL_REJECTED: "Dotdigital refused the write",
    Reason.COMMERCE_REJECTED: "Commerce refused the opt-out written back to it",
    Reason.CONSENT_FEED_ROW: "a row of Dotdigital's suppression feed could not be read",
    Reason.CONSENT_GATE: "held back on purpose: the contact has opted out",
    Reason.RESUBSCRIBE_REFUSED: "Dotdigital refused to re-subscribe the contact",
    Reason.GUEST_UNSUBSCRIBE: "a guest opted out, and Commerce has no customer account to update",
    Reason.NUMBER_OUT_OF_RANGE: "a number in the record is not finite or is out of range",
    Reason.DELIVERY_TOO_LARGE: "a delivery held more events than Cartwright accepts at once",
    Reason.EVENT_OUT_OF_WINDOW: "the event's time is too far from now for a live delivery",
    Reason.PROCESSING_FAILED: "Cartwright failed while processing it (a fault, not the data)",
    Reason.ENROLMENT_INTERRUPTED: "a restart came between an enrolment and its confirmation",
    Reason.ATTRIBUTE_MISSING: "a product attribute the orders carry is empty for this product",
    Reason.VALUE_TOO_LONG: "a value is longer than Dotdigital takes, so it was left out",
    Reason.DRIFT_MISSING: "reconciliation: Commerce has this record and Dotdigital does not",
    Reason.DRIFT_EXTRA: "reconciliation: Dotdigital has a record Commerce does not",
    Reason.DRIFT_MISMATCH: "reconciliation: Dotdigital's record differs from Commerce's",
    Reason.DRIFT_CONTACT: "reconciliation: the contact's order totals differ from its orders",
    Reason.EARLY_WARNING: "an early warning: a reading is past its threshold",
}

# When the record names nothing more specific: what the reason alone implies.
GENERAL = {
    Reason.MALFORMED_JSON: "an event was lost in transit; the record it carried is not in Dotdigital",
    Reason.INVALID_ENVELOPE: "an event was not understood; its record is not in Dotdigital",
    Reason.UNKNOWN_EVENT_TYPE: "none: the event is kept on the raw topic for when it is used",
    Reason.INVALID_PAYLOAD: "this record is not in Dotdigital until the payload is fixed and replayed",
    Reason.MISSING_EMAIL: "no contact to attach this record to; it is not in Dotdigital",
    Reason.INVALID_EMAIL: "no contact to attach this record to; it is not in Dotdigital",
    Reason.PAYLOAD_TOO_LARGE: "this record is not in Dotdigital",
    Reason.DOTDIGITAL_REJECTED: "Dotdigital refused this record; segments and programs miss it",
    Reason.CONSENT_FEED_ROW: "none for Dotdigital (it enforces the suppression); Commerce and "
    "consent.v1 miss this change",
    Reason.COMMERCE_REJECTED: "Commerce refused an opt-out: the customer may still be "
    "subscribed there, though Dotdigital will not mail them",
    Reason.CONSENT_GATE: "none: the contact has opted out, so no program or subscription is sent",
    Reason.RESUBSCRIBE_REFUSED: "the contact stays suppressed in Dotdigital and gets no marketing",
    Reason.GUEST_UNSUBSCRIBE: "none for Dotdigital (it enforces the opt-out); Commerce's guest "
    "newsletter status is out of date",
    Reason.NUMBER_OUT_OF_RANGE: "this record is not in Dotdigital: a number in it is not finite, "
    "negative where it cannot be, or larger than Commerce can hold",
    Reason.DELIVERY_TOO_LARGE: "none of the delivery's events were stored; the store must send "
    "them in smaller deliveries",
    Reason.EVENT_OUT_OF_WINDOW: "this event is not in Dotdigital: its time is too far from now "
    "to be a live delivery (a replay or a forged event)",
    Reason.PROCESSING_FAILED: "this record is not in Dotdigital until the fault is fixed and the "
    "record replayed from the dead-letter topic",
    Reason.ENROLMENT_INTERRUPTED: "the contact may or may not be in the program: a restart came "
    "between the enrolment call and its confirmation, and it is not sent twice",
    Reason.ATTRIBUTE_MISSING: "order lines of this product carry no value for the attribute",
    Reason.VALUE_TOO_LONG: "the record is in Dotdigital without the value: segments, "
    "recommendations and emails that use it miss it for this record",
    Reason.DRIFT_MISSING: "Dotdigital lacks this record: segments, revenue and programs keyed "
    "on it miss it until it is replayed",
    Reason.DRIFT_EXTRA: "Dotdigital holds a record Commerce does not have: revenue and segments "
    "count something that was never sold",
    Reason.DRIFT_MISMATCH: "Dotdigital holds this record with other totals or status than "
    "Commerce: revenue and segments on them are wrong until it is replayed",
    Reason.DRIFT_CONTACT: "the contact's order count or lifetime value in Dotdigital disagrees "
    "with their orders: segments and personalisation on them are wrong",
    Reason.EARLY_WARNING: "none yet: a trend that leads to missed or late campaign data if it "
    "goes on; the message says what to check",
}

# What an enrolment's trigger enrols the contact into, as marketers name it.
JOURNEYS = {
    "order_fulfilled": "post-purchase journey",
    "first_order": "first-order journey",
    "abandoned_cart": "abandoned-cart program",
    "browse_abandoned": "browse-abandonment program",
}

# Reasons whose general words say it better than the subject can: those that lose nothing on
# Dotdigital's side, and the findings of reconciliation but a missing record (which misses
# what the subject's record would carry).
_GENERAL_ONLY = frozenset(
    {
        Reason.DRIFT_EXTRA,
        Reason.DRIFT_MISMATCH,
        Reason.DRIFT_CONTACT,
        Reason.UNKNOWN_EVENT_TYPE,
        Reason.CONSENT_FEED_ROW,
        Reason.COMMERCE_REJECTED,
        Reason.GUEST_UNSUBSCRIBE,
        Reason.DELIVERY_TOO_LARGE,
        Reason.EARLY_WARNING,
    }
)

_ENROLMENT = re.compile(r"^order (?P<id>\S+) \((?P<trigger>[a-z_]+)\)$")
_ORDER = re.compile(r"^order (?P<id>\S+)$")
_REFUND = re.compile(
    r"^(?:refund|credit memo) (?P<id>\S+)(?: of order(?: entity)? (?P<order>\S+))?$"
)
_SHIPMENT = re.compile(r"^shipment \S+ of order entity (?P<order>\S+)$")
_CART = re.compile(r"^cart (?P<id>\S+)")
_BROWSE = re.compile(r"^browse (?P<sku>\S+) ")
_CONTACT = re.compile(r"^(?:contact|customer|newsletter subscriber) ")
_SKU = re.compile(r"^SKU (?P<sku>\S+)")


def why(reason: Reason, message: str) -> str:
    """The reason in plain words, then what the record's own message adds."""
    words = WHY.get(reason, reason.value.replace("_", " "))
    return f"{words}: {message}" if message else words


def impact(reason: Reason, subject: str, attribute: str | None = None) -> str:
    """What the exception costs campaigns, from its reason and what its subject names: the
    journey an order misses, the segment a product falls out of; the reason's general words
    when the subject names nothing more specific."""
    if reason in _GENERAL_ONLY:
        return GENERAL[reason]
    if found := _ENROLMENT.match(subject):
        journey = JOURNEYS.get(found["trigger"], f"{found['trigger']} program")
        return _enrolment(reason, f"the {journey} for order {found['id']}")
    if found := _CART.match(subject):
        return _enrolment(reason, f"the abandoned-cart program for cart {found['id']}")
    if found := _BROWSE.match(subject):
        return _enrolment(reason, f"the browse-abandonment program for SKU {found['sku']}")
    if reason == Reason.CONSENT_GATE:
        return GENERAL[reason]
    if found := _ORDER.match(subject):
        return (
            f"order {found['id']} is not in Dotdigital's Orders: segments on purchases, the "
            "contact's LIFETIME_VALUE and ORDER_COUNT, and the post-purchase journey miss it"
        )
    if found := _REFUND.match(subject):
        return (
            f"the refund {found['id']} is not in Dotdigital's Refunds: the contact's net "
            "revenue is overstated by it, and refund-based segments miss it"
        )
    if found := _SHIPMENT.match(subject):
        return (
            f"the fulfilment of order entity {found['order']} is not confirmed: its "
            "post-purchase journey waits until it is"
        )
    if reason == Reason.VALUE_TOO_LONG and (found := _SKU.match(subject)) and attribute:
        return (
            f"SKU {found['sku']} is in the catalogue without `{attribute}`: segments, "
            "recommendations and emails that use it miss it for this product"
        )
    if (found := _SKU.match(subject)) and attribute:
        return (
            f"missing from segments and recommendations on `{attribute}`: attribute "
            f"`{attribute}` is empty on SKU {found['sku']}, so its order lines carry no value"
        )
    if _CONTACT.match(subject):
        return (
            "the contact's data fields in Dotdigital are out of date: segments on them "
            "(names, LIFETIME_VALUE, ORDER_COUNT, subscription) may wrongly include or miss it"
        )
    return GENERAL[reason]


def _enrolment(reason: Reason, program: str) -> str:
    """`program`: e.g. "the post-purchase journey for order 000000123"."""
    if reason == Reason.CONSENT_GATE:
        return f"none: not in {program}, as the contact has opted out"
    if reason == Reason.ENROLMENT_INTERRUPTED:
        return (
            f"may be missing from {program}: check the program's enrolments in Dotdigital "
            "before enrolling by hand (it is never sent twice)"
        )
    return f"not in {program}"
