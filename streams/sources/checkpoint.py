"""Checkpoints of the ingest commands, in a JSON file replaced atomically after each step."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson


class FileCheckpoint:
    """A small JSON document on disk; a crash leaves the previous version, never half of one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        try:
            document = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        return document if isinstance(document, dict) else {}

    def save(self, document: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(self.path.suffix + ".partial")
        with partial.open("wb") as handle:
            handle.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(self.path)


class FileCursors:
    """Named checkpoints in one file, as the cursors topic keeps them for a worker: what a
    command run from a shell keeps between its runs."""

    def __init__(self, path: Path) -> None:
        self._file = FileCheckpoint(path)

    async def load(self, name: str) -> dict[str, Any] | None:
        document = self._file.load().get(name)
        return document if isinstance(document, dict) else None

    async def save(self, name: str, document: dict[str, Any]) -> None:
        state = self._file.load()
        state[name] = document
        self._file.save(state)
