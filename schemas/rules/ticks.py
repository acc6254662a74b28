"""Clock ticks on `cartwright.ticks.v1`: what fires due timers inside the agent that owns them."""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

# How long after a whole multiple of the interval a tick is made: a due time sits on a whole
# second, and a tick whose clock read a hair before it would fire that cart a whole interval late.
TICK_LAG = 0.005


class Tick(BaseModel):
    """One tick for one partition: timers of that partition due at or before `clock` fire.

    Published by a timer on the worker holding the partition, consumed by the agent that holds
    the timers' table (Faust writes tables only from an agent's stream). The clock is the wall
    clock when the tick was made, so a tick read late fires nothing early."""

    schema_version: int = 1
    partition: int = Field(ge=0)
    clock: AwareDatetime
    worker: str = Field(default="", description="who sent it, for operators")


def seconds_to_next_tick(now: datetime, interval: float) -> float:
    """Seconds from `now` to the next tick: ticks fall just after whole multiples of `interval`
    seconds of the epoch. Due times are whole seconds (Commerce's `updated_at` + a whole
    ABANDON_AFTER), so with a whole-second interval a cart fires at its due time, not up to an
    interval after it, as ticks counted from whenever the worker started would."""
    epoch = now.timestamp()
    boundary = math.floor(epoch / interval) * interval
    next_at = boundary + TICK_LAG
    if next_at <= epoch:
        next_at += interval
    return next_at - epoch
