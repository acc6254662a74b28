"""The catalogue on the leader's schedule: every `CATALOGUE__INTERVAL` seconds, the products
Commerce changed since the last sync, the cursor on `cartwright.cursors.v1` so whichever worker
leads next goes on from there."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.errors import KafkaError

from connectors.dotdigital.client import DotdigitalClient
from connectors.errors import FatalError, RetriableError, SkippableError
from schemas.catalogue.mapping import MappingRefused
from streams.settings import Settings
from streams.sources.catalogue.sync import sync_catalogue
from streams.sources.cursors import CursorStore, KafkaCursors

log = logging.getLogger(__name__)


def register(
    app: Any,
    settings: Settings,
    *,
    cursors: CursorStore | None = None,
    dotdigital: Callable[[], Awaitable[DotdigitalClient]] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Sync the catalogue every `settings.catalogue.interval` seconds on the leader (0: never)."""
    interval = settings.catalogue.interval
    if interval <= 0:
        return

    async def on_leader() -> None:
        kafka_cursors = KafkaCursors(
            settings.kafka.bootstrap, fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms
        )
        try:
            while True:
                await sleep(interval)
                if not app.is_leader():
                    continue
                try:
                    report = await sync_catalogue(
                        settings, cursors or kafka_cursors, dotdigital=dotdigital
                    )
                # Passing trouble (Commerce, Dotdigital or the broker): the next round goes on
                # from the cursor, which moves only once a page is on the broker.
                except (RetriableError, SkippableError, KafkaError, TimeoutError) as exc:
                    log.warning("catalogue sync did not complete, trying again next round: %s", exc)
                except (FatalError, MappingRefused) as exc:
                    # A mapping the store refuses or Commerce refusing us: no later round does
                    # better, and the operator must hear of it now.
                    log.critical("catalogue sync refused, stopping the worker: %s", exc)
                    await app.crash(exc)
                    return
                else:
                    log.info(
                        "catalogue synced",
                        extra={"products": report.products, "records": report.records},
                    )
        finally:
            await kafka_cursors.close()

    app.task(on_leader)
