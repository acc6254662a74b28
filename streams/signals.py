"""SIGTERM treated like Ctrl-C, so the processes we start are stopped by the same cleanup."""

from __future__ import annotations


def interrupt(signum: int, frame: object) -> None:
    """A signal handler that raises KeyboardInterrupt."""
    raise KeyboardInterrupt
