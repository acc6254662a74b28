"""Delivery faults from seeded dice: duplicates, re-publishes, reordering, delay, 64 KB drop, REST 429."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from sandbox.commerce.simulator.events import with_new_id

MAX_EVENT_BYTES = 64 * 1024
Copy = Literal["original", "duplicate", "republish"]


class DeliveryFaults(BaseModel):
    """What `POST /_sandbox/faults` accepts; fields left out take these defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duplicate_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="same eventid again")
    republish_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="new eventid")
    reorder_window_seconds: float = Field(default=0.0, ge=0.0, description="simulated seconds")
    delay_seconds: float = Field(default=0.0, ge=0.0, description="simulated seconds")
    drop_over_64kb: bool = True
    rest_429_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    batch_size: int = Field(default=1, ge=1, le=20, description="1 = single delivery")
    seed: int | None = None


@dataclass(frozen=True)
class Planned:
    """One delivery of an event: after how many simulated seconds, and which copy it is."""

    delay: float
    event: dict[str, Any]
    copy: Copy


class FaultDice:
    """Rolls the configured faults, reproducibly from the seed."""

    def __init__(self, default_seed: int | None = None) -> None:
        self._default_seed = default_seed
        self.settings = DeliveryFaults()
        self._random = random.Random(default_seed)  # noqa: S311 - fault dice, not cryptography

    def configure(self, settings: DeliveryFaults) -> None:
        """Replace every fault at once; the dice restart from the seed."""
        self.settings = settings
        seed = settings.seed if settings.seed is not None else self._default_seed
        self._random = random.Random(seed)  # noqa: S311 - fault dice, not cryptography

    def too_big(self, event: dict[str, Any]) -> bool:
        """Commerce never creates an event whose payload is over 64 KB (unless told otherwise)."""
        return self.settings.drop_over_64kb and len(orjson.dumps(event)) > MAX_EVENT_BYTES

    def _roll(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    def _when(self) -> float:
        window = self.settings.reorder_window_seconds
        jitter = self._random.uniform(0.0, window) if window else 0.0
        return self.settings.delay_seconds + jitter

    def plan(self, event: dict[str, Any]) -> list[Planned]:
        """Every delivery one created event turns into (the original first)."""
        s = self.settings
        planned = [Planned(self._when(), event, "original")]
        if self._roll(s.duplicate_rate):
            planned.append(Planned(self._when(), event, "duplicate"))
        if self._roll(s.republish_rate):
            new_id = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
            planned.append(Planned(self._when(), with_new_id(event, new_id), "republish"))
        return planned

    def rest_throttled(self) -> bool:
        return self._roll(self.settings.rest_429_rate)
