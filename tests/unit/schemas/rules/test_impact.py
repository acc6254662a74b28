"""Campaign impact worked out from the exception's record, not one sentence per reason."""

from __future__ import annotations

import pytest

from schemas.contract.incidents import Reason
from schemas.rules.impact import GENERAL, WHY, impact, why


@pytest.mark.parametrize(
    ("reason", "subject", "expected"),
    [
        (
            Reason.DOTDIGITAL_REJECTED,
            "order 000000123 (order_fulfilled)",
            "not in the post-purchase journey for order 000000123",
        ),
        (
            Reason.CONSENT_GATE,
            "order 000000123 (first_order)",
            "none: not in the first-order journey for order 000000123, as the contact has opted out",
        ),
        (
            Reason.INVALID_EMAIL,
            "order 000000123",
            "order 000000123 is not in Dotdigital's Orders: segments on purchases, the contact's "
            "LIFETIME_VALUE and ORDER_COUNT, and the post-purchase journey miss it",
        ),
        (
            Reason.DOTDIGITAL_REJECTED,
            "refund 000000045",
            "the refund 000000045 is not in Dotdigital's Refunds: the contact's net revenue is "
            "overstated by it, and refund-based segments miss it",
        ),
        (
            Reason.PROCESSING_FAILED,
            "shipment 000000007 of order entity 12",
            "the fulfilment of order entity 12 is not confirmed: its post-purchase journey waits "
            "until it is",
        ),
        (
            Reason.CONSENT_GATE,
            "cart 88 abandoned 2026-01-01 10:00:00",
            "none: not in the abandoned-cart program for cart 88, as the contact has opted out",
        ),
        (
            Reason.UNKNOWN_EVENT_TYPE,
            "event type catalog_product_save_after",
            GENERAL[Reason.UNKNOWN_EVENT_TYPE],
        ),
        (Reason.MALFORMED_JSON, "raw record 17", GENERAL[Reason.MALFORMED_JSON]),
    ],
)
def test_the_impact_names_what_the_subject_misses(
    reason: Reason, subject: str, expected: str
) -> None:
    assert impact(reason, subject) == expected


def test_an_empty_attribute_names_the_segment_and_the_sku() -> None:
    said = impact(Reason.ATTRIBUTE_MISSING, "SKU LOOM-1", attribute="brand")

    assert said.startswith("missing from segments and recommendations on `brand`")
    assert "attribute `brand` is empty on SKU LOOM-1" in said


def test_a_value_too_long_names_the_sku_and_the_field_left_out() -> None:
    said = impact(Reason.VALUE_TOO_LONG, "SKU LOOM-1", attribute="attributes.material")

    assert said.startswith("SKU LOOM-1 is in the catalogue without `attributes.material`")
    assert "recommendations" in said


def test_an_interrupted_enrolment_says_to_check_before_enrolling_by_hand() -> None:
    said = impact(Reason.ENROLMENT_INTERRUPTED, "order 000000123 (order_fulfilled)")

    assert said.startswith("may be missing from the post-purchase journey for order 000000123")


def test_every_reason_has_plain_words_and_a_general_impact() -> None:
    assert set(WHY) == set(Reason) == set(GENERAL)
    assert why(Reason.DOTDIGITAL_REJECTED, "Dotdigital answered 400") == (
        "Dotdigital refused the write: Dotdigital answered 400"
    )
