"""The exceptions an operator reads: the exception topic folded by subject and reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.contract.incidents import Reason, Severity


@dataclass(frozen=True)
class ExceptionRow:
    """One subject's exceptions for one reason: how often, since when, and whether a later
    success for the subject resolved them."""

    subject: str
    reason: Reason
    severity: Severity
    why: str
    impact: str
    first_at: datetime
    last_at: datetime
    times: int
    resolved_at: datetime | None
