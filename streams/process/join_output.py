"""What one folded event calls for: writes to Dotdigital, events to send on, exception records."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from schemas.contract.incidents import Reason
from schemas.dotdigital.commands import WriteCommand


@dataclass(frozen=True)
class Forward:
    """An event to publish on another topic (or partition) after the current one."""

    topic: str
    key: str
    event: BaseModel


@dataclass(frozen=True)
class JoinNotice:
    """An exception record the join asks for: worth knowing, nothing lost."""

    reason: Reason
    subject: str
    message: str
    email: str
    event_id: str
    attribute: str | None = None
    program: int | None = None  # the program an enrolment held back by the gate was for


@dataclass
class JoinOutput:
    """The join's answer to one event, in the order the agent must publish it: forwards, then
    notices, then writes."""

    writes: list[WriteCommand] = field(default_factory=list)
    forwards: list[Forward] = field(default_factory=list)
    notices: list[JoinNotice] = field(default_factory=list)

    def __add__(self, other: JoinOutput) -> JoinOutput:
        return JoinOutput(
            self.writes + other.writes,
            self.forwards + other.forwards,
            self.notices + other.notices,
        )
