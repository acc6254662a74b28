"""Fixtures for schema tests: Commerce events as JSON files in tests/fixtures/commerce."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas.commerce import CloudEvent

FIXTURES = Path(__file__).parents[2] / "fixtures" / "commerce"


def load_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


@pytest.fixture
def commerce_event() -> Callable[[str], CloudEvent]:
    """Parse a fixture file into the CloudEvent envelope, e.g. `commerce_event("guest_order")`."""

    def load(name: str) -> CloudEvent:
        return CloudEvent.model_validate(load_json(f"{name}.json"))

    return load
