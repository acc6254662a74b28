"""The leader's scheduled reconciliation, and its latest run for the status page."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.errors import KafkaError

from connectors.commerce.client import CommerceClient
from connectors.dotdigital.client import DotdigitalClient
from connectors.errors import FatalError, RetriableError, SkippableError
from streams.ops.reconciliation.report import ReconcileReport, publish, reconcile
from streams.runtime.incidents import Incidents
from streams.settings import Settings

log = logging.getLogger(__name__)


class Schedule:
    """The leader's scheduled reconciliation: every `RECONCILE__INTERVAL` seconds, the orders
    placed over the last `RECONCILE__LOOKBACK`, on a client that spends the worker's share of
    the budgets with its sink's batch lane (so it never takes the realtime lane's reserve)."""

    def __init__(
        self,
        settings: Settings,
        incidents: Incidents,
        dotdigital: Callable[..., Awaitable[DotdigitalClient]],
        commerce: Callable[[], CommerceClient],
    ) -> None:
        self._settings = settings
        self._incidents = incidents
        self._dotdigital = dotdigital
        self._commerce = commerce
        self.latest: ReconcileReport | None = None

    async def run_once(self, now: datetime | None = None) -> ReconcileReport:
        now = now or datetime.now(UTC)
        since = now - timedelta(seconds=self._settings.reconcile.lookback)
        client = await self._dotdigital(background=True)
        try:
            async with self._commerce() as commerce:
                report = await reconcile(
                    self._settings, commerce, client, since=since, until=now, now=now
                )
        finally:
            await client.aclose()
        await publish(report, self._incidents)
        self.latest = report
        return report

    def status(self) -> dict[str, Any] | None:
        """The latest run for the status page: its window, findings and calls."""
        report = self.latest
        if report is None:
            return None
        return {
            "since": report.since.isoformat(),
            "until": report.until.isoformat(),
            "findings": len(report.result.findings),
            "days": [
                {
                    "day": day.day.isoformat(),
                    "store": day.store,
                    "commerce": str(day.commerce),
                    "dotdigital": str(day.dotdigital),
                    "drift": str(day.drift),
                    "percent": round(day.percent, 2),
                    "findings": day.findings,
                }
                for day in report.days
            ],
            "calls": report.calls,
            "refused": report.refused,
        }


def register(app: Any, schedule: Schedule, interval: float) -> None:
    """Run `schedule` every `interval` seconds on the group's leader (0: never)."""
    if interval <= 0:
        return

    async def on_leader() -> None:
        while True:
            await asyncio.sleep(interval)
            if not app.is_leader():
                continue
            try:
                await schedule.run_once()
            # Retried for a good while already, or the broker refusing the findings for now:
            # the next round reads everything again.
            except (RetriableError, SkippableError, KafkaError, TimeoutError) as exc:
                log.warning("reconciliation did not complete, trying again next round: %s", exc)
            except FatalError as exc:
                log.critical("Commerce or Dotdigital refuses reconciliation, stopping: %s", exc)
                await app.crash(exc)
                return

    app.task(on_leader)
