"""Masking of personal data (email addresses) before it reaches logs and error messages."""

from __future__ import annotations

import re

# Deliberately loose: anything that looks like local@domain is treated as personal data.
_EMAIL = re.compile(r"[^\s@/\"'<>(),;:]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def mask_email(email: str) -> str:
    """Keep the first character of the local part and the domain: `j***@example.com`."""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def redact_emails(text: str) -> str:
    """Mask every email-like substring of free text (vendor messages, exception strings)."""
    return _EMAIL.sub(lambda match: mask_email(match.group(0)), text)
