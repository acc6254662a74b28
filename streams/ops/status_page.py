"""The status page (`GET /ops/`): what an operator reads first, rendered on the server from the
worker's own state and from the sources it is given (exceptions, warnings, drift, the last
catalogue sync, trace)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from aiokafka.errors import KafkaError
from jinja2 import Environment, PackageLoader, StrictUndefined

from connectors.errors import ConnectorError
from schemas.catalogue.sync_summary import CatalogueSynced
from streams.ops.early_warnings import EarlyWarning
from streams.ops.exception_book import ExceptionRow
from streams.ops.partition_lag import LagWatch, assigned, leads
from streams.ops.reconciliation.report import DriftDay
from streams.ops.trace import Trace
from streams.runtime.metrics import Metrics
from streams.settings import Settings

log = logging.getLogger(__name__)

# Rows shown per section: the page stays small however much a source holds; it says how many
# more there are.
ROWS = 50
# The longest query worth looking up: an email address is at most 254 characters (RFC 5321's
# path limit); order increment ids are far shorter.
MAX_QUERY = 254
# Seconds a source may take before its section says it could not be read, so one slow source
# never holds the whole page. A trace is asked for on purpose and may read topics: it gets longer.
READ_TIMEOUT = 5.0
TRACE_TIMEOUT = 20.0
LANES = ("realtime", "batch")
# A partition with records waiting and no commit for this long is shown as stopped: the agents
# commit within seconds when they make progress, and a page read a moment after a burst of
# traffic should not cry wolf.
STALLED_AFTER = 60.0
NOT_TRACED = "Tracing is not available on this worker yet: nothing was looked up."

T = TypeVar("T")


async def _nothing_yet() -> tuple[()]:
    return ()


async def _no_sync() -> CatalogueSynced | None:
    return None


async def _not_traced(query: str) -> Trace | None:
    return Trace(subject=query, reached=False, verdict=NOT_TRACED, steps=(), dotdigital=())


@dataclass(frozen=True)
class StatusSources:
    """Where the page reads what the worker does not hold itself; each defaults to "nothing yet",
    so the page works before the modules that fill them are wired in. `trace(query)` answers
    None when nothing is known of `query` (an order increment id or an email)."""

    exceptions: Callable[[], Awaitable[Sequence[ExceptionRow]]] = _nothing_yet
    warnings: Callable[[], Awaitable[Sequence[EarlyWarning]]] = _nothing_yet
    drift: Callable[[], Awaitable[Sequence[DriftDay]]] = _nothing_yet
    trace: Callable[[str], Awaitable[Trace | None]] = _not_traced
    catalogue: Callable[[], Awaitable[CatalogueSynced | None]] = _no_sync


@dataclass(frozen=True)
class Section(Generic[T]):
    """What one source gave: at most ROWS rows, how many more it held, or that it failed."""

    rows: tuple[T, ...] = ()
    more: int = 0
    failed: bool = False


@dataclass(frozen=True)
class CatalogueLine:
    """The last catalogue sync, none yet, or that it could not be read."""

    synced: CatalogueSynced | None = None
    failed: bool = False


async def catalogue_line(read: Callable[[], Awaitable[CatalogueSynced | None]]) -> CatalogueLine:
    synced, failed = await _guarded("catalogue", read, READ_TIMEOUT)
    return CatalogueLine(synced, failed)


@dataclass(frozen=True)
class Search:
    """A trace search: the query as looked up, and the answer, or why there is none."""

    query: str
    trace: Trace | None = None
    refused: str | None = None
    failed: bool = False


async def _guarded(
    name: str, read: Callable[[], Awaitable[T]], within: float
) -> tuple[T | None, bool]:
    """`read()`'s answer, or (None, True) when it could not be read (the broker, Commerce or
    Dotdigital failing it) or overran `within` seconds: logged with its traceback and shown as
    one unreadable section, never a broken page. A fault of the page's own code propagates."""
    try:
        async with asyncio.timeout(within):
            return await read(), False
    except (ConnectorError, KafkaError, OSError, TimeoutError, LookupError):
        log.exception("status page: %s could not be read", name)
        return None, True


async def read_rows(name: str, read: Callable[[], Awaitable[Sequence[T]]]) -> Section[T]:
    found, failed = await _guarded(name, read, READ_TIMEOUT)
    if found is None:
        return Section(failed=failed)
    return Section(tuple(found[:ROWS]), max(len(found) - ROWS, 0))


async def search(sources: StatusSources, raw: str | None) -> Search | None:
    """The trace of the query (stripped), if there is one and it is short enough to look up;
    the page shows an overlong one cut short, and never passes it on."""
    query = (raw or "").strip()
    if not query:
        return None
    if len(query) > MAX_QUERY:
        refused = f"A query is at most {MAX_QUERY} characters: not looked up."
        return Search(query=query[:40] + "…", refused=refused)
    found, failed = await _guarded("trace", lambda: sources.trace(query), TRACE_TIMEOUT)
    return Search(query=query, trace=found, failed=failed)


def utc(value: datetime | date | float | None) -> str:
    """Times as an operator compares them across machines: in UTC, to the second."""
    if value is None:
        return "—"
    if isinstance(value, float | int):
        value = datetime.fromtimestamp(value, UTC)
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # the book's times are UTC when they say nothing
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds(value: float | None) -> str:
    """A latency or a duration in the unit that reads best."""
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def lanes(metrics: Metrics) -> list[dict[str, Any]]:
    """Each lane's commands, rejections and recent issue-to-acceptance latency."""
    counts = metrics.counts
    shown = []
    for lane in LANES:
        latency = metrics.write_latencies.get(lane)
        summary = latency.summary() if latency is not None and latency.recent else None
        shown.append(
            {
                "name": lane,
                "commands": counts.get(f"{lane}.commands", 0),
                "rejected": counts.get(f"{lane}.rejected", 0),
                "p50": summary["p50"] if summary else None,
                "p95": summary["p95"] if summary else None,
            }
        )
    return shown


def assigned_by_topic(assigned: Any) -> list[tuple[str, str]]:
    """(topic, its partitions) for what the worker holds, e.g. ("commerce.raw.v1", "0, 2")."""
    by_topic: dict[str, list[int]] = {}
    for tp in assigned:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return [(topic, ", ".join(map(str, sorted(held)))) for topic, held in sorted(by_topic.items())]


class StatusPage:
    """Renders the page from the app (assignment, leadership, lag), the metrics, the budget share
    and the sources. `clock()` is wall time in seconds (the lag watch's and the page's "now")."""

    def __init__(
        self,
        app: Any,
        settings: Settings,
        metrics: Metrics,
        budget: Callable[[], dict[str, Any] | None],
        sources: StatusSources,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._settings = settings
        self._metrics = metrics
        self._budget = budget
        self._sources = sources
        self._clock = clock
        self._watch = LagWatch(lambda: assigned(app), app.monitor, clock)
        # Autoescaping on everything: subjects, emails, reasons and Dotdigital's answers are
        # untrusted text, and StrictUndefined turns a misspelt name into an error in the tests.
        self._templates = Environment(
            loader=PackageLoader("streams.ops", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._templates.filters["utc"] = utc
        self._templates.filters["seconds"] = seconds

    async def render(self, query: str | None = None) -> str:
        exceptions, warnings, drift, catalogue, found = await asyncio.gather(
            read_rows("exceptions", self._sources.exceptions),
            read_rows("warnings", self._sources.warnings),
            read_rows("drift", self._sources.drift),
            catalogue_line(self._sources.catalogue),
            search(self._sources, query),
        )
        holding = assigned(self._app)
        stages, stalled = self._watch.read()
        settings = self._settings
        return self._templates.get_template("status.html").render(
            now=self._clock(),
            app_id=settings.kafka.app_id,
            worker=f"{socket.gethostname()} (pid {os.getpid()}), "
            f"{settings.web.host}:{settings.web.port}",
            leader=leads(self._app),
            uptime=self._clock() - self._metrics.started_at,
            assigned=assigned_by_topic(holding),
            partitions=len(holding),
            stages=stages,
            total_lag=sum(stage.lag for stage in stages),
            stalled=stalled,
            stalled_after=STALLED_AFTER,
            lanes=lanes(self._metrics),
            budget=self._budget(),
            warnings=warnings,
            exceptions=exceptions,
            drift=drift,
            catalogue=catalogue,
            search=found,
            rows=ROWS,
            max_query=MAX_QUERY,
        )

    def login(self, *, failed: bool) -> str:
        return self._templates.get_template("login.html").render(
            app_id=self._settings.kafka.app_id, failed=failed
        )
