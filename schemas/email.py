"""Email normalisation: the one contact key Commerce and Dotdigital share."""

from __future__ import annotations

import re
from typing import Literal

MAX_LENGTH = 254
MAX_LOCAL_LENGTH = 64
MAX_LABEL_LENGTH = 63

_ASCII_SPACE = " \t\n\r\f\v"

Reason = Literal["missing", "too long", "malformed"]

# A practical subset of RFC 5322: dot-atom local parts and ASCII host names. Quoted local parts,
# IP-literal domains and non-ASCII addresses are legal but never reach a marketing list intact.
_LOCAL_PART = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


class InvalidEmail(ValueError):
    """An address that cannot be a contact key; `reason` is `missing`, `too long` or `malformed`."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: Reason = reason
        self.detail = detail

    def __reduce__(self) -> tuple[type[InvalidEmail], tuple[Reason, str]]:
        return (InvalidEmail, (self.reason, self.detail))


def normalize_email(raw: str | None) -> str:
    """Trim, validate and lower-case an address; raise `InvalidEmail` saying why it is unusable.

    The address is checked as written, before any case folding: Unicode folds some letters
    onto ASCII ones (the Kelvin sign onto `k`), which would merge two people into one contact.
    """
    if raw is None or not raw.strip():
        raise InvalidEmail("missing", "no email address")
    written = raw.strip(_ASCII_SPACE)  # other spaces are no more part of an address
    if not written.isascii():
        raise InvalidEmail("malformed", "contains characters outside ASCII")
    email = written.lower()
    if len(email) > MAX_LENGTH:
        raise InvalidEmail("too long", f"{len(email)} characters, at most {MAX_LENGTH} allowed")
    if any(char.isspace() or not char.isprintable() for char in email):
        raise InvalidEmail("malformed", "contains whitespace or control characters")
    if email.count("@") != 1:
        raise InvalidEmail("malformed", "must contain exactly one @")
    local, domain = email.split("@")
    if not local:
        raise InvalidEmail("malformed", "nothing before the @")
    if len(local) > MAX_LOCAL_LENGTH:
        raise InvalidEmail("too long", f"part before the @ exceeds {MAX_LOCAL_LENGTH} characters")
    if not _LOCAL_PART.fullmatch(local):
        raise InvalidEmail("malformed", "part before the @ has characters or dots out of place")
    _check_domain(domain)
    return email


def _check_domain(domain: str) -> None:
    labels = domain.split(".")
    if len(labels) < 2:
        raise InvalidEmail("malformed", "domain needs a dot")
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH:
            raise InvalidEmail("too long", f"a domain label exceeds {MAX_LABEL_LENGTH} characters")
        if not _LABEL.fullmatch(label):
            raise InvalidEmail("malformed", f"domain label {label!r} is not a valid host name")
    if labels[-1].isdigit():
        raise InvalidEmail("malformed", "top-level domain cannot be numeric")
