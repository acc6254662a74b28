"""How far a replay has come: a bar with rate and ETA on a terminal, plain lines otherwise.

rich draws the bar (it handles terminal widths, redraws and Ctrl-C cleanly); a pipe or a log
file gets one line every `every` seconds instead, which a CI log or `tee` keeps readable."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress


class Progress:
    """One phase at a time (`start` … `advance` … `finish`), shown as a bar or as lines."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._every = every
        self._clock = clock
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._what = ""
        self._total: int | None = None
        self._done = 0
        self._resumed_at = 0
        self._started = 0.0
        self._shown = 0.0

    @property
    def done(self) -> int:
        return self._done

    def start(self, what: str, total: int | None, done: int = 0) -> None:
        """A new phase of `total` steps (None: unknown), `done` of them already (a resumed run)."""
        self.finish()
        self._what, self._total, self._done = what, total, done
        self._resumed_at = done
        self._started = self._shown = self._clock()
        if self._stream.isatty():
            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TransferSpeedColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self._stream),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(what, total=total, completed=done)

    def advance(self, steps: int = 1) -> None:
        self._done += steps
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self._done)
            return
        now = self._clock()
        if now - self._shown >= self._every:
            self._shown = now
            self._line(now)

    def finish(self) -> None:
        """End the phase: the bar's last frame, or a last line."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = self._task = None
        elif self._what:
            self._line(self._clock())
        self._what = ""

    def _line(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-9)
        # What a resumed run did before Ctrl-C is no part of this run's pace.
        rate = (self._done - self._resumed_at) / elapsed
        if self._total:
            left = max(self._total - self._done, 0)
            eta = f", about {left / rate:.0f} s left" if rate > 0 else ""
            count = f"{self._done:,}/{self._total:,} ({100 * self._done / self._total:.0f} %)"
        else:
            eta, count = "", f"{self._done:,}"
        print(f"{self._what}: {count}, {rate:,.0f}/s{eta}", file=self._stream, flush=True)
