"""Dead letters put back on the topics they came from, once each (to be written)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.contract.incidents import Reason
from streams.sources.replay.progress import Progress


@dataclass(frozen=True)
class DeadLetterSelection:
    """Which dead letters to put back: of these reasons, written since, about these ids
    (empty or None: any)."""

    reasons: frozenset[Reason] = frozenset()
    since: datetime | None = None
    ids: frozenset[str] = frozenset()


@dataclass
class DeadLetterReport:
    """What a dead-letter replay selected and did."""

    selected: int = 0
    replayed: int = 0

    def render(self) -> str:
        return f"dead letters: {self.selected} selected, {self.replayed} replayed"


async def replay_dead_letters(
    bootstrap: str,
    selection: DeadLetterSelection,
    *,
    dry_run: bool,
    confirm_above: int | None,
    progress: Progress,
) -> DeadLetterReport:
    raise NotImplementedError
