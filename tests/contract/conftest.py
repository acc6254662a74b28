"""One sandbox and client per test (see `harness.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.contract.harness import Dotdigital, sandbox


@pytest.fixture
async def dd() -> AsyncIterator[Dotdigital]:
    async with sandbox() as running:
        yield running
