"""Dotdigital's unsubscribes and suppressions, polled from its v2 feeds onto the observation topic.

Dotdigital pushes nothing dependable, so the leader reads both feeds from a checkpoint kept in
Kafka. The checkpoint moves only after every row read was acknowledged by the broker, so a crash
or a failed call re-reads rows (the same event ids) and never skips one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka.errors import KafkaError

from connectors.dotdigital.client import DotdigitalClient
from connectors.errors import FatalError, RetriableError, SkippableError
from connectors.privacy import redact_emails
from schemas.contract.consent import ConsentChanged
from schemas.contract.incidents import Reason
from schemas.moments import as_utc
from schemas.normalize.consent import from_suppression
from streams.runtime.faults import contained, fault_detail, traced
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.topics import TopicSet
from streams.settings import Settings
from streams.sources.cursors import CursorStore, KafkaCursors

log = logging.getLogger(__name__)

CURSOR = "dotdigital.suppressions"
# No checkpoint and no configured start: every suppression the account ever had.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Publishes awaiting their acknowledgement at once: one at a time, a first read of a large
# account would take a broker round trip (and Faust's linger) per row.
IN_FLIGHT = 100
ACK_TIMEOUT = 30.0

Publish = Callable[[str, ConsentChanged], Coroutine[Any, Any, None]]
Report = Callable[[Mapping[str, Any], str, Reason], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Polled:
    """What one poll read and did."""

    since: datetime
    rows: int
    published: int
    unreadable: int
    checkpoint: datetime | None


class SuppressionPoller:
    """Reads both feeds since the checkpoint (less an overlap) and publishes each row once.

    `publish(email, change)` must return only once the change is durable; `report(row,
    problem, reason)` records a row that cannot be read (`consent_feed_row`) or whose reading
    failed unexpectedly (`processing_failed`). `now` is the wall clock, for the lag only.
    """

    def __init__(
        self,
        client: DotdigitalClient,
        publish: Publish,
        cursors: CursorStore,
        *,
        overlap: float,
        first_poll_since: datetime | None,
        report: Report,
        now: Callable[[], datetime],
        metrics: Metrics,
        select: int = 1000,
        in_flight: int = IN_FLIGHT,
        name: str = CURSOR,
    ) -> None:
        self._client = client
        self._publish = publish
        self._cursors = cursors
        self._overlap = timedelta(seconds=overlap)
        self._first = as_utc(first_poll_since) if first_poll_since is not None else EPOCH
        self._report = report
        self._now = now
        self._metrics = metrics
        self._select = select
        self._in_flight = in_flight
        self._name = name
        self.checkpoint: datetime | None = None
        self._loaded = False
        # Rows of the last poll already durable or reported: the overlap reads them again.
        self._published: set[str] = set()
        self._reported: set[bytes] = set()

    async def poll_once(self) -> Polled:
        """One read of both feeds; raises what the API or the broker raised, checkpoint kept."""
        if not self._loaded:
            self.checkpoint = await self._load()
            self._loaded = True
        since = self.checkpoint - self._overlap if self.checkpoint is not None else self._first
        rows = [row async for row in self._client.unsubscribed_since(since, self._select)]
        rows += [row async for row in self._client.suppressed_since(since, self._select)]
        self._metrics.add("consent.feed_rows", len(rows))
        changes, unreadable = await _read(rows)

        fresh = [change for change in changes if change.event_id not in self._published]
        for window in _windows(fresh, self._in_flight):
            await self._publish_window(window)
        self._published = {change.event_id for change in changes}
        self._metrics.add("consent.published", len(fresh))
        for change in fresh:
            self._metrics.suppressed(change.reason, change.occurred_at.timestamp())

        new_problems = {
            key: found for key, found in unreadable.items() if key not in self._reported
        }
        for row, problem, reason in new_problems.values():
            await self._report(row, problem, reason)
        self._reported = set(unreadable)
        self._metrics.add("consent.unreadable", len(new_problems))

        newest = max((change.occurred_at for change in changes), default=None)
        if newest is not None and (self.checkpoint is None or newest > self.checkpoint):
            document = {"checkpoint": newest.isoformat(), "saved_at": self._now().isoformat()}
            await self._cursors.save(self._name, document)
            self.checkpoint = newest
        self._metrics.add("consent.polls")
        self._metrics.feed_read(self._now().timestamp())
        polled = Polled(since, len(rows), len(fresh), len(new_problems), self.checkpoint)
        self._log(polled)
        return polled

    async def poll_round(self, interval: float) -> float:
        """One poll; a failure that may pass is logged and retried. Returns the wait until the next."""
        try:
            await self.poll_once()
        except RetriableError as exc:
            self._failed(exc, logging.WARNING)
            return max(interval, exc.retry_after or 0.0)
        except SkippableError as exc:
            # Skipping a read would lose its rows: retry, loudly, until someone looks.
            self._failed(exc, logging.ERROR)
        except (KafkaError, TimeoutError) as exc:
            self._failed(exc, logging.WARNING)
        return interval

    async def run(self, interval: float, sleep: Sleep = asyncio.sleep) -> None:
        """Poll every `interval` seconds for ever; a `FatalError` ends it."""
        while True:
            await sleep(await self.poll_round(interval))

    async def _load(self) -> datetime | None:
        try:
            document = await self._cursors.load(self._name)
            if document is None:
                return None
            return as_utc(datetime.fromisoformat(document["checkpoint"]))
        except (KeyError, TypeError, ValueError) as exc:
            # Reading from the start only repeats rows (same event ids); guessing could skip some.
            log.warning(
                "suppression checkpoint unreadable, reading the feeds from the start: %s",
                type(exc).__name__,
                extra={"cursor": self._name},
            )
            return None

    async def _publish_window(self, window: Sequence[ConsentChanged]) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for change in window:
                    group.create_task(self._publish(change.email, change))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None

    def _failed(self, exc: BaseException, level: int) -> None:
        self._metrics.add("consent.poll_failures")
        log.log(
            level,
            "suppression poll failed, checkpoint kept at %s: %s: %s",
            self.checkpoint.isoformat() if self.checkpoint else "none",
            type(exc).__name__,
            redact_emails(str(exc)),
            extra={"cursor": self._name},
        )

    def _log(self, polled: Polled) -> None:
        lag = (self._now() - polled.checkpoint).total_seconds() if polled.checkpoint else None
        log.log(
            logging.INFO if polled.published or polled.unreadable else logging.DEBUG,
            "suppression feeds read: %d rows, %d published, %d unreadable",
            polled.rows,
            polled.published,
            polled.unreadable,
            extra={
                "cursor": self._name,
                "since": polled.since.isoformat(),
                "checkpoint": polled.checkpoint.isoformat() if polled.checkpoint else None,
                "lag_seconds": lag,
            },
        )


Unreadable = dict[bytes, tuple[Mapping[str, Any], str, Reason]]


async def _read(rows: Sequence[Mapping[str, Any]]) -> tuple[list[ConsentChanged], Unreadable]:
    """The changes, once each and oldest first, and the unreadable rows by their bytes; a row
    whose reading fails unexpectedly is unreadable too, and the poll goes on."""
    changes: dict[str, ConsentChanged] = {}
    unreadable: Unreadable = {}
    for row in rows:

        async def failed(exc: Exception, row: Mapping[str, Any] = row) -> None:
            problem = f"processing failed: {fault_detail(exc)}"
            log.error("suppression feed row failed: %s\n%s", problem, traced(exc))
            unreadable[_fingerprint(row)] = (row, problem, Reason.PROCESSING_FAILED)

        async with contained(failed):
            try:
                change = from_suppression(row)
            except ValueError as exc:
                unreadable[_fingerprint(row)] = (row, str(exc), Reason.CONSENT_FEED_ROW)
                continue
            # Both feeds carry unsubscribes: the same row twice is the same event.
            changes.setdefault(change.event_id, change)
    ordered = sorted(changes.values(), key=lambda change: (change.occurred_at, change.event_id))
    return ordered, unreadable


def _fingerprint(row: Mapping[str, Any]) -> bytes:
    """A row's bytes, the same for the same row in the next poll's overlap."""
    try:
        return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: what orjson cannot write, repr can
        return repr(row).encode()


def _windows(changes: Sequence[ConsentChanged], size: int) -> Iterator[list[ConsentChanged]]:
    """Consecutive groups to publish at once; an email's second change waits for its first."""
    window: list[ConsentChanged] = []
    emails: set[str] = set()
    for change in changes:
        if len(window) >= size or change.email in emails:
            yield window
            window, emails = [], set()
        window.append(change)
        emails.add(change.email)
    if window:
        yield window


async def _client(
    client_factory: Callable[[], Awaitable[DotdigitalClient]],
) -> DotdigitalClient | None:
    """The poller's client, or None (logged) when Dotdigital cannot be reached yet."""
    try:
        return await client_factory()
    except (RetriableError, SkippableError) as exc:
        log.warning(
            "no Dotdigital client for the suppression feeds yet: %s", redact_emails(str(exc))
        )
        return None


def register(
    app: Any,
    topics: TopicSet,
    settings: Settings,
    incidents: Incidents,
    metrics: Metrics,
    client_factory: Callable[[], Awaitable[DotdigitalClient]],
    *,
    cursors: CursorStore | None = None,
    sleep: Sleep = asyncio.sleep,
) -> Any:
    """Declare the poller as an app task that polls only while this worker is the leader."""
    consent = settings.consent
    interval = consent.poll_interval

    async def publish(email: str, change: ConsentChanged) -> None:
        async with asyncio.timeout(ACK_TIMEOUT):
            ack = await topics.consent_observed.send(
                key=email.encode(), value=orjson.dumps(change.model_dump(mode="json"))
            )
            await ack

    async def report(row: Mapping[str, Any], problem: str, reason: Reason) -> None:
        contact = row.get("suppressedContact") if isinstance(row, Mapping) else None
        contact_id = contact.get("id") if isinstance(contact, Mapping) else None
        subject = f"Dotdigital suppression feed row (contact {contact_id or 'unknown'})"
        text = _fingerprint(row)
        if reason is Reason.PROCESSING_FAILED:
            await incidents.dead_letter(
                reason=reason,
                detail=problem,
                original=text,
                source_topic=CURSOR,
                key=None,
                subject=subject,
            )
        else:
            await incidents.report(
                reason=reason,
                message=f"{problem}: {text.decode(errors='replace')}",
                subject=subject,
            )
        log.warning("suppression feed row skipped: %s", problem, extra={"contact_id": contact_id})

    async def poll_on_leader() -> None:
        kafka_cursors = KafkaCursors(
            settings.kafka.bootstrap, fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms
        )
        store: CursorStore = cursors or kafka_cursors
        client: DotdigitalClient | None = None
        poller: SuppressionPoller | None = None
        try:
            while True:
                wait = interval
                if not app.is_leader():
                    # Another worker polls; should this one lead again, it reloads the checkpoint.
                    poller = None
                else:
                    if client is None:
                        client = await _client(client_factory)
                    if client is not None and poller is None:
                        poller = SuppressionPoller(
                            client,
                            publish,
                            store,
                            overlap=consent.poll_overlap,
                            first_poll_since=consent.first_poll_since,
                            report=report,
                            now=lambda: datetime.now(UTC),
                            metrics=metrics,
                        )
                    if poller is not None:
                        wait = await poller.poll_round(interval)
                await sleep(wait)
        except FatalError as exc:
            log.critical("Dotdigital refuses the suppression feeds, stopping the worker: %s", exc)
            await app.crash(exc)
        finally:
            await kafka_cursors.close()
            if client is not None:
                await client.aclose()

    return app.task(poll_on_leader)
