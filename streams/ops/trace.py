"""Tracing one order or contact through every stage, to what Dotdigital holds now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Step:
    """One step the data took: `stage` is delivered, raw, normalized, joined, written,
    dead-lettered, refused or dotdigital; `outcome` is ok, stopped or pending."""

    stage: str
    at: datetime | None
    outcome: str
    detail: str


@dataclass(frozen=True)
class Trace:
    """Has it reached Dotdigital, and if not, where did it stop and why: `verdict` says it in
    one sentence, `steps` in order, `dotdigital` what Dotdigital holds now (label, value)."""

    subject: str
    reached: bool
    verdict: str
    steps: tuple[Step, ...]
    dotdigital: tuple[tuple[str, str], ...]
