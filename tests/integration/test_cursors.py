"""Cursors kept on the real embedded broker outlive the store object that saved them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from sandbox.broker import EmbeddedBroker
from streams.runtime.topics import create_topics
from streams.sources.cursors import KafkaCursors
from tests.support.stack import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with EmbeddedBroker(port=free_port()) as broker:
        yield broker.bootstrap


async def test_a_new_store_loads_the_latest_saved_cursor(bootstrap: str) -> None:
    await create_topics(bootstrap, partitions=2)
    saving = KafkaCursors(bootstrap)
    try:
        await saving.save("feeds", {"checkpoint": "2026-01-01T00:00:00+00:00"})
        await saving.save("feeds", {"checkpoint": "2026-01-03T00:00:00+00:00"})
        # Saved together, these two share a batch, whose end Tansu reports too low.
        await asyncio.gather(
            saving.save("other", {"checkpoint": 1}),
            saving.save("last", {"checkpoint": 2}),
        )
    finally:
        await saving.close()

    loading = KafkaCursors(bootstrap)
    assert await loading.load("feeds") == {"checkpoint": "2026-01-03T00:00:00+00:00"}
    assert await loading.load("other") == {"checkpoint": 1}
    assert await loading.load("last") == {"checkpoint": 2}
    assert await loading.load("never-saved") is None
