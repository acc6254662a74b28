"""Early warnings: a reading past its threshold, before it reaches a campaign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.contract.incidents import Severity


@dataclass(frozen=True)
class EarlyWarning:
    """`name` is the warning's stable code (e.g. `consumer_lag`); `message` says it in words."""

    name: str
    severity: Severity
    message: str
    value: float
    threshold: float
    since: datetime
