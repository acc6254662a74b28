"""Hostile values in the fields: wrong types in every envelope and payload field the normalizer
reads, non-finite and giant numbers, hostile emails, and path characters in skus and ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sandbox.commerce.simulator.events import (
    CREDITMEMO_SAVED,
    CUSTOMER_SAVED,
    ORDER_SAVED,
    SHIPMENT_SAVED,
    SUBSCRIBER_SAVED,
)
from schemas.contract.incidents import Reason
from tests.support.hostile.case import Case, Fate, Kind
from tests.support.hostile.envelopes import raw
from tests.support.hostile.maker import ABSENT, Maker, Path, marker, put

GIANT_DIGITS = "123456789012345678901234567890"  # 30 digits: over any 64-bit integer

# Wrong types for any field, by name.
WRONG: dict[str, Any] = {
    "null": None,
    "true": True,
    "int": 424242,
    "negative": -7,
    "float": 1.5,
    "empty": "",
    "blank": " ",
    "list": [],
    "object": {},
    "strings": ["x"],
    "operator": {"$ne": None},
    "long": "x" * 5000,
    "giant": raw(GIANT_DIGITS),
}

ENVELOPE_FIELDS: tuple[Path, ...] = (
    ("id",),
    ("eventid",),
    ("event_id",),
    ("type",),
    ("time",),
    ("source",),
    ("specversion",),
    ("datacontenttype",),
    ("data",),
    ("data", "value"),
    ("data", "_metadata"),
    ("data", "key"),
    ("data", "source"),
)
# Event times no live delivery has: refused as out of the window.
OUT_OF_WINDOW = (
    "1970-01-01T00:00:00.000Z",
    "2000-01-01T00:00:00Z",
    "2099-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
)
ODD_TIMES: dict[str, Any] = {
    "zero_date": "0000-00-00 00:00:00",
    "words": "yesterday",
    "huge_epoch": 1e20,
    "epoch_negative": -1,
    "year_275760": "+275760-09-13T00:00:00Z",
    "absent": ABSENT,
}
MISSING_IDS: dict[str, Any] = {
    "null": None,
    "empty": "",
    "tab": "\t",
    "list": [],
    "object": {},
    "true": True,
    "absent": ABSENT,
}

# What each payload field is, so its wrong values are of another type.
ID, AMOUNT, INT, TEXT, FLAG, TIME, LIST, OBJECT = (
    "id",
    "amount",
    "int",
    "text",
    "flag",
    "time",
    "list",
    "object",
)
NOT_A: dict[str, dict[str, Any]] = {
    ID: {"object": {"n": 1}, "words": "twelve", "null": None},
    AMOUNT: {"object": {"n": 1}, "words": "twelve"},
    INT: {"list": [1], "words": "twelve"},
    TEXT: {"object": {"t": "x"}, "list": ["a", "b"]},
    FLAG: {"words": "maybe", "object": {}},
    TIME: {"words": "yesterday", "number": 1e20},
    LIST: {"words": "items", "number": 3, "keyed_strings": {"12": "x"}},
    OBJECT: {"words": "address", "numbers": [1, 2]},
}
PAYLOAD_FIELDS: dict[str, dict[Path, str]] = {
    ORDER_SAVED: {
        ("entity_id",): ID,
        ("increment_id",): TEXT,
        ("state",): TEXT,
        ("status",): TEXT,
        ("customer_email",): TEXT,
        ("customer_id",): ID,
        ("customer_is_guest",): FLAG,
        ("customer_firstname",): TEXT,
        ("customer_lastname",): TEXT,
        ("store_id",): INT,
        ("store_name",): TEXT,
        ("quote_id",): ID,
        ("order_currency_code",): TEXT,
        ("grand_total",): AMOUNT,
        ("subtotal",): AMOUNT,
        ("tax_amount",): AMOUNT,
        ("discount_amount",): AMOUNT,
        ("shipping_amount",): AMOUNT,
        ("total_refunded",): AMOUNT,
        ("shipping_description",): TEXT,
        ("shipping_method",): TEXT,
        ("coupon_code",): TEXT,
        ("created_at",): TIME,
        ("updated_at",): TIME,
        ("items",): LIST,
        ("addresses",): LIST,
        ("billing_address",): OBJECT,
        ("shipping_address",): OBJECT,
        ("payment",): OBJECT,
        ("extension_attributes",): OBJECT,
        ("relation_parent_id",): ID,
        ("original_increment_id",): TEXT,
        ("billing_address", "street"): LIST,
        ("billing_address", "email"): TEXT,
        ("billing_address", "postcode"): TEXT,
        ("payment", "method"): TEXT,
        ("payment", "additional_information"): OBJECT,
        ("items", 0, "item_id"): ID,
        ("items", 0, "parent_item_id"): ID,
        ("items", 0, "product_id"): ID,
        ("items", 0, "sku"): TEXT,
        ("items", 0, "name"): TEXT,
        ("items", 0, "product_type"): TEXT,
        ("items", 0, "qty_ordered"): AMOUNT,
        ("items", 0, "qty_shipped"): AMOUNT,
        ("items", 0, "qty_refunded"): AMOUNT,
        ("items", 0, "qty_canceled"): AMOUNT,
        ("items", 0, "price"): AMOUNT,
        ("items", 0, "price_incl_tax"): AMOUNT,
        ("items", 0, "row_total"): AMOUNT,
        ("items", 0, "discount_amount"): AMOUNT,
        ("items", 0, "is_virtual"): FLAG,
        ("items", 0, "custom_options"): LIST,
        ("items", 0, "product_options"): OBJECT,
        ("items", 0, "product_option"): OBJECT,
    },
    SHIPMENT_SAVED: {
        ("entity_id",): ID,
        ("order_id",): ID,
        ("increment_id",): TEXT,
        ("items",): LIST,
        ("tracks",): LIST,
        ("created_at",): TIME,
        ("items", 0, "order_item_id"): ID,
        ("items", 0, "qty"): AMOUNT,
        ("items", 0, "sku"): TEXT,
        ("tracks", 0, "track_number"): TEXT,
        ("tracks", 0, "carrier_code"): TEXT,
    },
    CREDITMEMO_SAVED: {
        ("entity_id",): ID,
        ("order_id",): ID,
        ("increment_id",): TEXT,
        ("grand_total",): AMOUNT,
        ("subtotal",): AMOUNT,
        ("adjustment",): AMOUNT,
        ("adjustment_positive",): AMOUNT,
        ("adjustment_negative",): AMOUNT,
        ("shipping_amount",): AMOUNT,
        ("state",): INT,
        ("order_currency_code",): TEXT,
        ("items",): LIST,
        ("created_at",): TIME,
        ("items", 0, "order_item_id"): ID,
        ("items", 0, "qty"): AMOUNT,
        ("items", 0, "row_total"): AMOUNT,
        ("items", 0, "price"): AMOUNT,
        ("items", 0, "sku"): TEXT,
    },
    CUSTOMER_SAVED: {
        ("id",): ID,
        ("entity_id",): ID,
        ("email",): TEXT,
        ("firstname",): TEXT,
        ("lastname",): TEXT,
        ("group_id",): INT,
        ("store_id",): INT,
        ("website_id",): INT,
        ("created_at",): TIME,
        ("updated_at",): TIME,
        ("extension_attributes",): OBJECT,
        ("extension_attributes", "is_subscribed"): FLAG,
        ("_origData",): OBJECT,
        ("_origData", "email"): TEXT,
    },
    SUBSCRIBER_SAVED: {
        ("subscriber_id",): ID,
        ("customer_id",): ID,
        ("subscriber_email",): TEXT,
        ("subscriber_status",): INT,
        ("change_status_at",): TIME,
        ("store_id",): INT,
    },
}

# Non-finite and giant numbers, as JSON strings and as JSON numbers. Bare NaN/Infinity are not
# JSON at all: the webhook may take them as malformed, or store them for the normalizer to refuse.
NUMBERS: dict[str, Any] = {
    "nan_text": "NaN",
    "infinity_text": "Infinity",
    "minus_infinity_text": "-Infinity",
    "e5000_text": "1e5000",
    "e5000": raw("1e5000"),
    "minus_e400_text": "-1e400",
    "minus_e400": raw("-1e400"),
    "e30_text": "1e30",
    "e30": raw("1e30"),
    "e999999999_text": "1e999999999",
    "e999999999": raw("1e999999999"),
    "digits30_text": GIANT_DIGITS,
    "digits30": raw(GIANT_DIGITS),
    "nan": raw("NaN"),
    "infinity": raw("Infinity"),
    "minus_infinity": raw("-Infinity"),
}
NOT_JSON = frozenset({"nan", "infinity", "minus_infinity"})
# JSON, but past what a double holds: the webhook's parser refuses them by name.
INFINITE = frozenset({"e5000", "minus_e400", "e999999999"})
# Where every number goes; the fields after them get a rotating few.
EVERY_NUMBER: tuple[tuple[str, Path], ...] = (
    (ORDER_SAVED, ("entity_id",)),
    (ORDER_SAVED, ("grand_total",)),
)
SOME_NUMBERS: tuple[tuple[str, Path], ...] = (
    (SHIPMENT_SAVED, ("order_id",)),
    (CREDITMEMO_SAVED, ("order_id",)),
    (CREDITMEMO_SAVED, ("grand_total",)),
    (CUSTOMER_SAVED, ("id",)),
    (SUBSCRIBER_SAVED, ("subscriber_id",)),
    (ORDER_SAVED, ("customer_id",)),
    (ORDER_SAVED, ("items", 0, "item_id")),
    (ORDER_SAVED, ("items", 0, "price")),
    (ORDER_SAVED, ("items", 0, "qty_ordered")),
    (SHIPMENT_SAVED, ("items", 0, "qty")),
    (CREDITMEMO_SAVED, ("items", 0, "qty")),
)
# The fields the raw-topic key is read from: a giant there keys the event by its id.
KEY_FIELDS: dict[str, Path] = {
    ORDER_SAVED: ("entity_id",),
    SHIPMENT_SAVED: ("order_id",),
    CREDITMEMO_SAVED: ("order_id",),
    CUSTOMER_SAVED: ("id",),
    SUBSCRIBER_SAVED: ("subscriber_id",),
}
NEGATIVE_TOTALS: tuple[tuple[str, Path, str], ...] = (
    (ORDER_SAVED, ("grand_total",), "-45.79"),
    (ORDER_SAVED, ("subtotal",), "-1"),
    (CREDITMEMO_SAVED, ("grand_total",), "-10.00"),
)

# Addresses no contact may be keyed by (and the reasons they must be dead-lettered with).
BAD = frozenset({Reason.INVALID_EMAIL})
MISSING = frozenset({Reason.MISSING_EMAIL})
EMAILS: dict[str, tuple[Any, frozenset[Reason]]] = {
    "kelvin_sign": ("\u212aate@example.com", BAD),
    "rtl_override": ("kate\u202e@example.com", BAD),
    "nul": ("kate\u0000@example.com", BAD),
    "crlf_header": ("kate@example.com\r\nBcc: all@example.net", BAD),
    "local_300": ("k" * 300 + "@example.com", BAD),
    "html": ("<script>alert(1)</script>@example.com", BAD),
    "sql": ("x'; DROP TABLE contacts;--@example.com", BAD),
    "two_ats": ("a@b@example.com", BAD),
    "no_at": ("kate.example.com", BAD),
    "fullwidth": ("\uff4bate@example.com", BAD),
    "cyrillic_domain": ("kate@ex\u0430mple.com", BAD),
    "empty": ("", MISSING),
    "null": (None, MISSING),
    "quoted_local": ('"kate lee"@example.com', frozenset()),
}
EMAIL_FIELDS: dict[str, Path] = {
    ORDER_SAVED: ("customer_email",),
    CUSTOMER_SAVED: ("email",),
    SUBSCRIBER_SAVED: ("subscriber_email",),
}
# Path characters where ids and skus end up in URLs (Dotdigital keys, Commerce product paths).
PATH_PIECES = {
    "dotdot": "..",
    "dot": ".",
    "slash": "a/b",
    "encoded_slash": "a%2Fb",
    "query": "a?b=c",
    "fragment": "a#b",
    "climb": "../../V1/options",
    "encoded_dots": "%2e%2e",
    "backslash": "a\\b",
}
PATH_EMAILS = {
    "slash": "a/b.{n}@example.com",
    "question": "a?b.{n}@example.com",
    "hash": "a#b.{n}@example.com",
    "percent": "a%2Fb.{n}@example.com",
}


def envelope_types(maker: Maker) -> Iterator[Case]:
    """Every envelope field with every wrong type; ids missing altogether; times out of window."""
    env = maker.envelopes
    for path in ENVELOPE_FIELDS:
        for label, value in WRONG.items():
            event = put(env.order(), path, value)
            yield maker.one(
                f"envelope.{'.'.join(map(str, path))}.{label}",
                Kind.ENVELOPE_TYPE,
                event,
                Fate.ACCOUNTED,
                mark=marker() if path[0] != "data" else None,
            )
    for label, value in MISSING_IDS.items():
        event = env.order()
        for field in ("id", "eventid", "event_id"):
            put(event, (field,), value)
        yield maker.one(
            f"envelope.ids.{label}", Kind.ENVELOPE_TYPE, event, Fate.DEAD, mark=marker()
        )
    for field in ("id", "event_id"):
        event = env.order()
        for other in ("id", "eventid", "event_id"):
            if other != field:
                event.pop(other)
        yield maker.one(f"envelope.only_{field}", Kind.ENVELOPE_TYPE, event)
    for when in OUT_OF_WINDOW:
        yield maker.one(
            f"envelope.time.out_of_window.{when[:4]}",
            Kind.ENVELOPE_TYPE,
            put(env.order(), ("time",), when),
            Fate.DEAD,
            reasons={Reason.EVENT_OUT_OF_WINDOW},
        )
    for label, value in ODD_TIMES.items():
        yield maker.one(
            f"envelope.time.{label}",
            Kind.ENVELOPE_TYPE,
            put(env.order(), ("time",), value),
            Fate.ACCOUNTED,
        )


def payload_types(maker: Maker) -> Iterator[Case]:
    """Every payload field the normalizer reads, with values of other types: stored raw."""
    for event_type, fields in PAYLOAD_FIELDS.items():
        short = event_type.rsplit(".", 1)[1].removesuffix("_save_commit_after")
        for path, nature in fields.items():
            for label, value in NOT_A[nature].items():
                event = maker.envelopes.of(event_type)
                put(event["data"]["value"], path, value)
                yield maker.one(
                    f"payload.{short}.{'.'.join(map(str, path))}.{label}",
                    Kind.PAYLOAD_TYPE,
                    event,
                )


def _number_case(maker: Maker, event_type: str, path: Path, label: str, value: Any) -> Case:
    event = maker.envelopes.of(event_type)
    put(event["data"]["value"], path, value)
    if event_type == CUSTOMER_SAVED and path == ("id",):
        put(event["data"]["value"], ("entity_id",), value)
    key = f"event:{event['eventid']}" if KEY_FIELDS.get(event_type) == path else None
    short = event_type.rsplit(".", 1)[1].removesuffix("_save_commit_after")
    name = f"number.{short}.{'.'.join(map(str, path))}.{label}"
    later = {Reason.NUMBER_OUT_OF_RANGE}
    if label in NOT_JSON:
        # Not JSON: malformed at the webhook, or stored and refused by the normalizer.
        return maker.one(
            name, Kind.NUMBER, event, Fate.ACCOUNTED, reasons={Reason.MALFORMED_JSON}, later=later
        )
    if label in INFINITE:
        return maker.one(name, Kind.NUMBER, event, Fate.DEAD, reasons=later)
    return maker.one(name, Kind.NUMBER, event, later=later, key=key)


def numbers(maker: Maker) -> Iterator[Case]:
    """Non-finite, giant and negative numbers in ids and amounts: stored, then refused by name."""
    labels = list(NUMBERS)
    for event_type, path in EVERY_NUMBER:
        for label, value in NUMBERS.items():
            yield _number_case(maker, event_type, path, label, value)
    for index, (event_type, path) in enumerate(SOME_NUMBERS):
        for step in range(5):
            label = labels[(index * 5 + step) % len(labels)]
            yield _number_case(maker, event_type, path, label, NUMBERS[label])
    for event_type, path, value in NEGATIVE_TOTALS:
        event = maker.envelopes.of(event_type)
        put(event["data"]["value"], path, value)
        short = event_type.rsplit(".", 1)[1].removesuffix("_save_commit_after")
        yield maker.one(
            f"number.{short}.{path[0]}.negative",
            Kind.NUMBER,
            event,
            later={Reason.NUMBER_OUT_OF_RANGE},
        )
    unread = put(maker.envelopes.order(), ("data", "_metadata", "storeId"), raw("1e999999999"))
    yield maker.one(
        "number.metadata.store_id.e999999999",
        Kind.NUMBER,
        unread,
        Fate.DEAD,
        reasons={Reason.NUMBER_OUT_OF_RANGE},
    )
    unknown = put(maker.envelopes.order(), ("data", "value", "loyalty_points"), raw(GIANT_DIGITS))
    yield maker.one("number.order.unread_field.digits30", Kind.NUMBER, unknown)


def emails(maker: Maker) -> Iterator[Case]:
    """Addresses that must never become (or merge into) a contact."""
    for event_type, path in EMAIL_FIELDS.items():
        short = event_type.rsplit(".", 1)[1].removesuffix("_save_commit_after")
        for label, (email, later) in EMAILS.items():
            event = maker.envelopes.of(event_type)
            put(event["data"]["value"], path, email)
            yield maker.one(f"email.{short}.{label}", Kind.EMAIL, event, later=later)


def paths(maker: Maker) -> Iterator[Case]:
    """Path characters in increment ids, skus and emails (all legal to store)."""
    env = maker.envelopes
    for label, piece in PATH_PIECES.items():
        order = env.order()
        put(order["data"]["value"], ("increment_id",), piece)
        yield maker.one(f"path.order.increment_id.{label}", Kind.PATH, order)
        order = env.order()
        put(order["data"]["value"], ("items", 0, "sku"), piece)
        yield maker.one(f"path.order.items.0.sku.{label}", Kind.PATH, order)
        yield maker.one(f"path.product.sku.{label}", Kind.PATH, env.product(piece))
        memo = env.creditmemo()
        put(memo["data"]["value"], ("items", 0, "sku"), piece)
        yield maker.one(f"path.creditmemo.items.0.sku.{label}", Kind.PATH, memo)
    for label, template in PATH_EMAILS.items():
        order = env.order()
        put(order["data"]["value"], ("customer_email",), template.format(n=order["eventid"][:8]))
        yield maker.one(f"path.order.email.{label}", Kind.PATH, order)
        customer = env.customer()
        email = template.format(n=customer["eventid"][:8])
        put(customer["data"]["value"], ("email",), email)
        yield maker.one(f"path.customer.email.{label}", Kind.PATH, customer)
