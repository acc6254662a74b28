"""Running `cartwright` as an operator does, against a test stack, and reading what it prints."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

# The walls between a table's cells, read as spaces, so a row reads as a line of text.
CELL_WALLS = str.maketrans("│┃", "  ")


def cartwright(env: Mapping[str, str], *args: str, timeout: float = 300.0) -> tuple[int, str]:
    """`cartwright …` with `env`, on a wide terminal: its exit code and its output, each line's
    cell walls and runs of spaces made one space."""
    done = subprocess.run(
        [sys.executable, "-m", "streams", *args],
        env={**env, "COLUMNS": "400"},
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    output = (done.stdout.decode() + done.stderr.decode()).translate(CELL_WALLS)
    return done.returncode, "\n".join(" ".join(line.split()) for line in output.splitlines())
