"""Rules for changing one contact: validation, merge options, consent transitions."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.dotdigital.account.contact import (
    ContactRejected,
    InvalidEmail,
    MergeOption,
    ResubscribeOutcome,
    merge_fields,
    next_status,
    parse_change,
    require_email,
    resubscribe_outcome,
)

CURRENT = {"FIRSTNAME": "Ada", "LASTNAME": "", "CITY": "Leeds"}


@pytest.mark.parametrize(
    ("option", "incoming", "expected"),
    [
        (
            MergeOption.OVERWRITE,
            {"FIRSTNAME": "Bo"},
            {"FIRSTNAME": "Bo", "LASTNAME": "", "CITY": "Leeds"},
        ),
        (MergeOption.OVERWRITE, {"CITY": None}, {"FIRSTNAME": "Ada", "LASTNAME": ""}),
        (MergeOption.OVERWRITE, {"CITY": ""}, {"FIRSTNAME": "Ada", "LASTNAME": "", "CITY": ""}),
        (MergeOption.OVERWRITE_IF_NOT_EMPTY, {"CITY": None}, CURRENT),
        (MergeOption.OVERWRITE_IF_NOT_EMPTY, {"CITY": ""}, CURRENT),
        (MergeOption.OVERWRITE_IF_NOT_EMPTY, {"CITY": "York"}, {**CURRENT, "CITY": "York"}),
        (MergeOption.OVERWRITE_IF_EMPTY, {"CITY": "York"}, CURRENT),
        (
            MergeOption.OVERWRITE_IF_EMPTY,
            {"LASTNAME": "Lovelace"},
            {**CURRENT, "LASTNAME": "Lovelace"},
        ),
        (MergeOption.OVERWRITE_IF_EMPTY, {"AGE": 36}, {**CURRENT, "AGE": 36}),
    ],
)
def test_merge_option_decides_which_sent_fields_change(
    option: MergeOption, incoming: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert merge_fields(CURRENT, incoming, option) == expected


def test_merge_option_accepts_query_and_import_spellings() -> None:
    assert MergeOption.parse("overwrite-if-empty") is MergeOption.OVERWRITE_IF_EMPTY
    assert MergeOption.parse("overwriteIfNotEmpty") is MergeOption.OVERWRITE_IF_NOT_EMPTY
    with pytest.raises(ValueError, match="overwrite-always"):
        MergeOption.parse("overwrite-always")


@pytest.mark.parametrize(
    ("current", "requested", "expected"),
    [
        (None, "subscribed", "subscribed"),
        ("unsubscribed", "subscribed", "subscribed"),
        ("subscribed", "unsubscribed", "unsubscribed"),
        ("hardBounced", "subscribed", "hardBounced"),
        ("ispComplained", "subscribed", "ispComplained"),
        ("suppressed", "subscribed", "suppressed"),
        ("hardBounced", "unsubscribed", "hardBounced"),
        ("softBounced", "subscribed", "subscribed"),
    ],
)
def test_a_requested_status_never_lifts_a_suppression(
    current: str | None, requested: str, expected: str
) -> None:
    assert next_status(current, requested) == expected


@pytest.mark.parametrize(
    ("current", "requested", "expected"),
    [
        ("deleted", None, "subscribed"),
        ("deleted", "unsubscribed", "unsubscribed"),
        ("unsubscribed", None, None),
        ("hardBounced", None, None),
        (None, None, None),
    ],
)
def test_an_upsert_restores_a_binned_contact_and_otherwise_keeps_the_status(
    current: str | None, requested: str | None, expected: str | None
) -> None:
    assert next_status(current, requested) == expected


@pytest.mark.parametrize(
    ("current", "challenge", "expected"),
    [
        (None, False, ResubscribeOutcome.ADDED),
        (None, True, ResubscribeOutcome.ADDED),
        ("unsubscribed", False, ResubscribeOutcome.ADDED),
        ("unsubscribed", True, ResubscribeOutcome.CHALLENGED),
        ("subscribed", True, ResubscribeOutcome.ADDED),
        ("hardBounced", False, ResubscribeOutcome.CANNOT_BE_UNSUPPRESSED),
        ("ispComplained", False, ResubscribeOutcome.CANNOT_BE_UNSUPPRESSED),
        ("suppressed", True, ResubscribeOutcome.CANNOT_BE_UNSUPPRESSED),
        ("directComplaint", False, ResubscribeOutcome.CANNOT_BE_UNSUPPRESSED),
    ],
)
def test_resubscribe_outcome_follows_suppression_and_challenge_rules(
    current: str | None, challenge: bool, expected: ResubscribeOutcome
) -> None:
    assert resubscribe_outcome(current, challenge=challenge) is expected


def test_email_is_trimmed_and_lower_cased() -> None:
    assert require_email("  Ada@Example.COM ") == "ada@example.com"


@pytest.mark.parametrize("raw", ["", "ada", "ada@", "@example.com", "ada@example", 42, None])
def test_invalid_emails_are_rejected(raw: object) -> None:
    with pytest.raises(InvalidEmail):
        require_email(raw)


def test_parse_change_keeps_only_sent_parts() -> None:
    change = parse_change(
        {
            "matchIdentifier": "email",
            "identifiers": {"email": "Ada@Example.com"},
            "channelProperties": {"email": {"status": "subscribed", "optInType": "double"}},
        }
    )
    assert change.email == "ada@example.com"
    assert change.status == "subscribed"
    assert change.opt_in_type == "double"
    assert change.email_type is None
    assert change.data_fields is None
    assert change.lists is None


@pytest.mark.parametrize(
    ("body", "item"),
    [
        ({"channelProperties": {"email": {"status": "hardBounced"}}}, "status"),
        ({"channelProperties": {"email": {"emailType": "rtf"}}}, "emailType"),
        ({"channelProperties": {"email": {"optInType": "triple"}}}, "optInType"),
        ({"dataFields": ["FIRSTNAME"]}, "dataFields"),
        ({"lists": ["one"]}, "lists"),
        ({"matchIdentifier": "mobileNumber"}, "matchIdentifier"),
        ({"identifiers": {"email": "not-an-email"}}, "not-an-email"),
    ],
)
def test_parse_change_rejects_values_dotdigital_would_refuse(
    body: dict[str, Any], item: str
) -> None:
    with pytest.raises(ContactRejected) as rejected:
        parse_change(body)
    assert rejected.value.item == item
