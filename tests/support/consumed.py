"""A consumed Faust event as an agent's per-record step reads it, for tests without a broker."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Message:
    """Where a consumed record sits."""

    topic: str
    partition: int = 0
    offset: int = 0
    timestamp: float | None = None  # seconds since the epoch, as Faust gives the record's time


@dataclass(frozen=True)
class Consumed:
    """What an agent reads of a Faust event: its key, value, message and headers."""

    key: bytes | None
    value: bytes
    message: Message
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def consumed(
    topic: str,
    value: bytes,
    *,
    key: bytes | None = b"",
    offset: int = 0,
    partition: int = 0,
    headers: list[tuple[str, bytes]] | None = None,
    timestamp: float | None = None,
) -> Consumed:
    return Consumed(key, value, Message(topic, partition, offset, timestamp), headers or [])
