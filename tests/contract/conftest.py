"""One sandbox and client per test (see `harness.py` and `commerce_harness.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.contract.commerce_harness import Commerce, commerce_sandbox, shop
from tests.contract.harness import Dotdigital, sandbox


@pytest.fixture
async def dd() -> AsyncIterator[Dotdigital]:
    async with sandbox() as running:
        yield running


@pytest.fixture
async def commerce() -> AsyncIterator[Commerce]:
    async with commerce_sandbox(shop()) as running:
        yield running
