"""Masking of personal data (email addresses) before it reaches logs and error messages."""

from __future__ import annotations

import re

# Characters that end an address in free text. Deliberately few: a character taken into an
# address is masked with it (a little context lost), one left out may show part of an address.
# `'` and `+` stay inside (o'brien@…, jane+tag@…); `"` ends a run but opens a quoted local part.
_RUN = re.compile(r"[^\s\"<>()\[\]{},;:/\\]+")
# `@`, its percent-encoding (paths and queries), and the full-width and small commercial ats.
_AT = re.compile("@|%40|\uff20|\ufe6b", re.IGNORECASE)
# A quoted local part (RFC 5321 allows `"jane doe"@example.com`) just before an `@`.
_QUOTED_LOCAL = re.compile(r"\"[^\"\r\n]{1,64}\"$")
_QUOTED_REACH = 66


def mask_email(email: str) -> str:
    """Keep the first character of the local part and the domain: `j***@example.com`."""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def redact_emails(text: str) -> str:
    """Mask every email-like substring of free text (vendor messages, exception strings,
    dead-letter details): `local@domain`, `local%40domain`, `"quoted local"@domain`, and an
    address cut short as `local@`. Linear in the text's length, whatever the text holds."""
    pieces: list[str] = []
    done = 0
    for run in _RUN.finditer(text):
        ats = list(_AT.finditer(run.group()))
        if not ats:
            continue
        last = ats[-1]  # everything before the last at is treated as the local part
        start = run.start()
        local = run.group()[: last.start()]
        domain = run.group()[last.end() :]
        if not local:
            quoted = _QUOTED_LOCAL.search(text, max(done, start - _QUOTED_REACH), start)
            if quoted is None:
                continue  # `@example.com`, `@handle`: a domain or a name, not an address
            start, local = quoted.start(), quoted.group()
        pieces.append(text[done:start])
        pieces.append(f"{local.strip(chr(34))[:1]}***@{domain}")
        done = run.end()
    pieces.append(text[done:])
    return "".join(pieces)
