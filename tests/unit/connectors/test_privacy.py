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
