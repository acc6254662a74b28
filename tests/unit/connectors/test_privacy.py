"""Emails are masked before they reach logs and error messages."""

from __future__ import annotations

import pytest

from connectors.privacy import mask_email, redact_emails


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("jane.doe@example.com", "j***@example.com"),
        ("  J+tag@Example.COM ", "J***@Example.COM"),
        ("not-an-email", "***"),
        ("@example.com", "***"),
    ],
)
def test_mask_email_keeps_only_first_letter_and_domain(email: str, masked: str) -> None:
    assert mask_email(email) == masked


def test_redact_emails_masks_every_address_in_text() -> None:
    text = "merge a.b@x.org into c+d@y.co.uk failed"

    assert redact_emails(text) == "merge a***@x.org into c***@y.co.uk failed"


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ('{"email":"jane@example.com","n":1}', '{"email":"j***@example.com","n":1}'),
        ("Jane <jane.doe@example.com>, bob@x.io", "Jane <j***@example.com>, b***@x.io"),
        ("write to o'brien+tag@example.com.", "write to o***@example.com."),
        ("/contacts/v3/email/jane%2Bvip%40example.com", "/contacts/v3/email/j***@example.com"),
        ('from "jane doe"@example.com today', "from j***@example.com today"),
        ("unicode kate@ex\u00e4mple.com", "unicode k***@ex\u00e4mple.com"),
        ("kelvin \u212aate@example.com", "kelvin \u212a***@example.com"),
        ("zero\u200bwidth ka\u200bte@exa\u200bmple.com", "zero\u200bwidth k***@exa\u200bmple.com"),
        ("full width jane\uff20example.com", "full width j***@example.com"),
        ("no tld root@localhost", "no tld r***@localhost"),
        ("cut short at 500: jane.doe@", "cut short at 500: j***@"),
        ("two ats x@jane@example.com", "two ats x***@example.com"),
        ("ip literal jane@[127.0.0.1]", "ip literal j***@[127.0.0.1]"),
        ("mailto:jane@example.com", "mailto:j***@example.com"),
        ("a@b\nc@d", "a***@b\nc***@d"),
    ],
)
def test_redact_emails_masks_hostile_addresses(text: str, redacted: str) -> None:
    assert redact_emails(text) == redacted


@pytest.mark.parametrize(
    "text",
    ["order 42 for @example.com", "decorator @handle", "50 % 40 off", "no address here", ""],
)
def test_redact_emails_leaves_text_without_an_address_as_it_is(text: str) -> None:
    assert redact_emails(text) == text


def test_redact_emails_is_linear_on_a_megabyte_of_hostile_text() -> None:
    # A backtracking pattern takes hours on these; a linear scan takes milliseconds.
    no_separator = "a" * 1_000_000
    ats = "a@" * 500_000
    quotes = '"' * 1_000_000 + "@x"

    assert redact_emails(no_separator) == no_separator
    assert redact_emails(ats) == "a***@"  # all but the last at is the local part
    assert redact_emails(quotes) == quotes
