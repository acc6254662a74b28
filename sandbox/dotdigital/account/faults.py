"""Injected failures: 5xx answers, slow answers, dropped connections, 429 bursts, failed imports."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ErrorBody = Literal["empty", "html", "json"]
# How a failing contact import ends (insight imports only ever end `Failed`).
ContactImportFailure = Literal["Failed", "RejectedByWatchdog", "ExceedsAllowedContactLimit"]

HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    "<body><h1>The service is temporarily unavailable.</h1></body></html>"
)
JSON_ERROR_BODY = b'{"message":"An error has occurred."}'


class FaultSettings(BaseModel):
    """What `POST /_sandbox/faults` accepts; every field left out means "no such fault"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_status: int = Field(default=500, ge=500, le=599)
    error_body: ErrorBody = "empty"
    delay_seconds: float = Field(default=0.0, ge=0.0, le=300.0)
    delay_rate: float = Field(default=1.0, ge=0.0, le=1.0, description="share of calls delayed")
    drop_connection_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    fail_imports: bool = False
    contact_import_failure: ContactImportFailure = "Failed"
    burst_429: int = Field(default=0, ge=0)
    # Program enrolments are recorded, then their answer is held until this is turned off
    # again: a caller that dies meanwhile has enrolled someone without hearing so.
    hold_enrolment_answers: bool = False
    seed: int | None = None


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one Dotdigital call before it reaches its handler."""

    delay_seconds: float = 0.0
    drop_connection: bool = False
    error_status: int | None = None
    error_body: ErrorBody = "empty"
    rate_limited: bool = False


class FaultInjector:
    """Draws a FaultDecision per call from the current settings, reproducibly when seeded."""

    def __init__(self, default_seed: int | None = None) -> None:
        self._default_seed = default_seed
        self.settings = FaultSettings()
        self._random = random.Random(default_seed)  # noqa: S311 - fault dice, not cryptography
        self._burst_left = 0
        self.injected = 0
        self._answers = asyncio.Event()
        self._answers.set()

    def configure(self, settings: FaultSettings) -> None:
        """Replace every fault at once; the dice restart from the seed."""
        self.settings = settings
        seed = settings.seed if settings.seed is not None else self._default_seed
        self._random = random.Random(seed)  # noqa: S311 - fault dice, not cryptography
        self._burst_left = settings.burst_429
        if settings.hold_enrolment_answers:
            self._answers.clear()
        else:
            self._answers.set()

    async def enrolment_answered(self) -> None:
        """Returns once enrolment answers are no longer held."""
        await self._answers.wait()

    def decide(self) -> FaultDecision:
        """The faults for the next call. Dice are rolled only for rates above zero."""
        s = self.settings
        if self._burst_left > 0:
            self._burst_left -= 1
            self.injected += 1
            return FaultDecision(delay_seconds=s.delay_seconds, rate_limited=True)
        delay = s.delay_seconds
        if delay and s.delay_rate < 1.0 and self._random.random() >= s.delay_rate:
            delay = 0.0
        drop = s.drop_connection_rate > 0 and self._random.random() < s.drop_connection_rate
        error = not drop and s.error_rate > 0 and self._random.random() < s.error_rate
        if drop or error:
            self.injected += 1
        return FaultDecision(
            delay_seconds=delay,
            drop_connection=drop,
            error_status=s.error_status if error else None,
            error_body=s.error_body,
        )
