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
