"""The fixtures every suite may ask for: a Dotdigital sandbox, a Commerce sandbox, the writers' bench."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.commerce import Commerce, commerce_sandbox, shop
from tests.support.dotdigital import Dotdigital, sandbox
from tests.support.writes import World


@pytest.fixture
async def dd() -> AsyncIterator[Dotdigital]:
    """The Dotdigital sandbox and a client of its account (see `tests.support.dotdigital`)."""
    async with sandbox() as running:
        yield running


@pytest.fixture
async def commerce() -> AsyncIterator[Commerce]:
    """The Commerce sandbox around `shop()` and a Bearer client (see `tests.support.commerce`)."""
    async with commerce_sandbox(shop()) as running:
        yield running


@pytest.fixture
def world(dd: Dotdigital) -> World:
    """The batch sink over the Dotdigital sandbox's client (see `tests.support.writes`)."""
    return World(dd)
