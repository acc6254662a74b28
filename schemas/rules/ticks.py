"""Clock ticks on `cartwright.ticks.v1`: what fires due timers inside the agent that owns them."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field


class Tick(BaseModel):
    """One tick for one partition: timers of that partition due at or before `clock` fire.

    Published by a timer on the worker holding the partition, consumed by the agent that holds
    the timers' table (Faust writes tables only from an agent's stream). The clock is the wall
    clock when the tick was made, so a tick read late fires nothing early."""

    schema_version: int = 1
    partition: int = Field(ge=0)
    clock: AwareDatetime
    worker: str = Field(default="", description="who sent it, for operators")
