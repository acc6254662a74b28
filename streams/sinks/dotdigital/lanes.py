"""The sink's two lanes as Faust agents: batch (size or interval) and realtime (at once).

Offsets advance only once Dotdigital accepted a command or it was dead-lettered: each lane takes
events without acknowledging them and acknowledges a batch when its write has finished.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from connectors.dotdigital.client import DotdigitalClient
from connectors.errors import FatalError
from schemas.contract.consent import ConsentChanged
from schemas.contract.incidents import Reason
from schemas.contract.received import received_at
from schemas.dotdigital.commands import ConsentWrite, EnrolmentWrite, Lane, WriteCommand
from streams.runtime.faults import Record, contained, guarded
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.retrying import Waiting
from streams.runtime.topics import TopicSet, encoded
from streams.sinks.consent_gate import ConsentGate, ConsentLookup
from streams.sinks.dotdigital.batch_writer import BatchWriter, Rejection
from streams.sinks.dotdigital.consent_writer import ConsentWriter
from streams.sinks.dotdigital.in_flight import OrderedInFlight
from streams.sinks.dotdigital.realtime_writer import RealtimeWriter, lane_keys
from streams.sinks.dotdigital.trail import HELD_BACK, Receipts, entries, subject_of, trail_key
from streams.sinks.enrolment_ledger import EnrolmentLedger
from streams.sinks.import_journal import ImportJournal

log = logging.getLogger(__name__)

SLOW_WRITE_SECONDS = 2.0


@dataclass(frozen=True)
class Consumed:
    """Where a write command came from, so a refusal can be dead-lettered with its bytes."""

    value: bytes
    key: str
    partition: int
    offset: int
    event_id: str
    received: float | None = None


class Writer(Protocol):
    receipts: Receipts

    async def write(
        self, commands: Sequence[tuple[WriteCommand, Consumed]]
    ) -> list[Rejection[Consumed]]: ...


@dataclass(frozen=True)
class LaneSettings:
    """How one lane takes and writes its commands."""

    name: str
    topic_name: str
    take: int
    within: float
    in_flight: int


async def decode(
    events: Sequence[Any], incidents: Incidents
) -> list[tuple[WriteCommand, Consumed]]:
    """A taken batch as commands; anything that is not a v1 write command is dead-lettered."""
    commands: list[tuple[WriteCommand, Consumed]] = []
    for event in events:
        async with guarded(incidents, Record.of(event)):
            command = await incidents.read(event, WriteCommand, "a v1 write command")
            if command is None:
                continue
            origin = Consumed(
                event.value,
                (event.key or b"").decode(errors="replace"),
                event.message.partition,
                event.message.offset,
                command.command.source_event_id,
                received_at(event.headers),
            )
            commands.append((command, origin))
    return commands


async def settle(
    writer: Writer,
    commands: Sequence[tuple[WriteCommand, Consumed]],
    incidents: Incidents,
    topic: str,
) -> list[Rejection[Consumed]]:
    """Write a taken batch. Should it fail for a reason of its own, each command is written
    alone, so only the one at fault is dead-lettered (processing failed) and the lane goes on;
    a fault that is no record's (Dotdigital refusing every call, the broker) propagates."""
    if len(commands) > 1:

        async def alone(exc: Exception) -> None:
            log.warning(
                "a batch of %d commands failed (%s), writing them one by one",
                len(commands),
                type(exc).__name__,
                extra={"topic": topic},
            )

        async with contained(alone) as batch:
            rejections = await writer.write(commands)
        if not batch.failed:
            return rejections
    rejections = []
    for command, origin in commands:
        record = Record(
            value=origin.value,
            source_topic=topic,
            key=origin.key,
            partition=origin.partition,
            offset=origin.offset,
            subject=subject_of(command),
            event_id=origin.event_id,
            email=command.command.email,
        )
        async with guarded(incidents, record):
            rejections.extend(await writer.write([(command, origin)]))
        if record.failed:
            writer.receipts.fail(origin, "processing failed: dead-lettered, see the exception")
    return rejections


async def report(rejections: list[Rejection[Consumed]], incidents: Incidents, topic: str) -> None:
    for rejection in rejections:
        if rejection.reason in HELD_BACK:
            # Held back on purpose: an exception record says why, nothing is dead.
            await incidents.report(
                reason=rejection.reason,
                message=rejection.detail,
                subject=rejection.subject,
                event_id=rejection.origin.event_id,
                email=rejection.email,
            )
            continue
        await incidents.dead_letter(
            reason=Reason.DOTDIGITAL_REJECTED,
            detail=rejection.detail,
            original=rejection.origin.value,
            source_topic=topic,
            key=rejection.origin.key,
            subject=rejection.subject,
            email=rejection.email,
            partition=rejection.origin.partition,
            offset=rejection.origin.offset,
            event_id=rejection.origin.event_id,
        )


def answers(
    commands: Sequence[tuple[WriteCommand, Consumed]], rejections: Sequence[Rejection[Consumed]]
) -> tuple[Counter[tuple[str, str]], list[datetime]]:
    """How a settled batch was answered, by (kind, answer): `accepted`, `rejected` by Dotdigital
    or `held_back` on purpose; and when each accepted command was issued (a consent change has
    its own propagation latency). A command dead-lettered for a fault of its own counts as
    settled here and is counted among the dead letters."""
    refused = {id(rejection.origin): rejection.reason for rejection in rejections}
    counted: Counter[tuple[str, str]] = Counter()
    issued: list[datetime] = []
    for command, origin in commands:
        reason = refused.get(id(origin))
        if reason is None:
            counted[command.command.kind, "accepted"] += 1
            if not isinstance(command.command, ConsentWrite):
                issued.append(command.command.issued_at)
        else:
            counted[command.command.kind, "held_back" if reason in HELD_BACK else "rejected"] += 1
    return counted, issued


def count_settled(
    metrics: Metrics,
    lane: str,
    commands: Sequence[tuple[WriteCommand, Consumed]],
    rejections: Sequence[Rejection[Consumed]],
    receipts: Receipts | None = None,
) -> None:
    """A settled batch on the lane's counters: commands, rejections, answers by kind, and how
    long each accepted command took from the webhook's receipt (a command dead-lettered for a
    fault of its own, as `receipts` say, was not accepted)."""
    metrics.add(f"{lane}.commands", len(commands))
    metrics.add(f"{lane}.rejected", len(rejections))
    counted, issued = answers(commands, rejections)
    enrolling = {
        id(origin): command.command.program_id
        for command, origin in commands
        if isinstance(command.command, EnrolmentWrite)
    }
    for rejection in rejections:
        program = enrolling.get(id(rejection.origin))
        if rejection.reason is Reason.CONSENT_GATE and program is not None:
            metrics.gate_refused(str(program))
    for (kind, answer), amount in counted.items():
        metrics.wrote(lane, kind, answer, amount)
    now = time.time()
    for at in issued:
        metrics.write_accepted_after(lane, now - at.timestamp())
    refused = {id(rejection.origin) for rejection in rejections}
    for _, origin in commands:
        failed = receipts is not None and receipts.failed(origin)
        if origin.received is not None and id(origin) not in refused and not failed:
            metrics.received_to_accepted(lane, now - origin.received)


async def send_trail(
    trail: Any,
    lane: str,
    commands: Sequence[tuple[WriteCommand, Consumed]],
    rejections: Sequence[Rejection[Consumed]],
    receipts: Receipts,
) -> None:
    """Each settled command on the trail topic, not waited for: the trail is for reading, and
    the batch's offsets do not depend on it."""
    at = datetime.now(UTC)
    for entry in entries(Lane(lane), commands, rejections, receipts, at):
        await trail.send(key=trail_key(entry), value=encoded(entry))


def register_lane(
    app: Any,
    topic: Any,
    trail: Any,
    lane: LaneSettings,
    incidents: Incidents,
    metrics: Metrics,
    writer_factory: Callable[[DotdigitalClient], Writer],
    client: Callable[[], Awaitable[DotdigitalClient]],
) -> Any:
    """One lane: take events, write them in flight, in order per key, acknowledge what is settled."""

    async def crash(exc: BaseException) -> None:
        if isinstance(exc, FatalError):
            log.critical("Dotdigital refuses every call, stopping the worker: %s", exc)
        await app.crash(exc)

    async def run(stream: Any, dotdigital: DotdigitalClient) -> None:
        writer = writer_factory(dotdigital)
        in_flight = OrderedInFlight(lane.in_flight, on_failure=crash)
        async for events in stream.noack_take(lane.take, within=lane.within):
            commands = await decode(events, incidents)

            async def job(events: Sequence[Any] = events, commands: Any = commands) -> None:
                started = time.monotonic()
                rejections = await settle(writer, commands, incidents, lane.topic_name)
                took = time.monotonic() - started
                if took > SLOW_WRITE_SECONDS:
                    log.info(
                        "%s lane: %d commands took %.1f s",
                        lane.name,
                        len(commands),
                        took,
                        extra={"lane": lane.name, "seconds": took},
                    )
                await report(rejections, incidents, lane.topic_name)
                count_settled(metrics, lane.name, commands, rejections, writer.receipts)
                await send_trail(trail, lane.name, commands, rejections, writer.receipts)
                for event in events:
                    await stream.ack(event)

            await in_flight.submit(lane_keys(commands), job)

    async def agent(stream: Any) -> None:
        try:
            dotdigital = await client()
            try:
                await run(stream, dotdigital)
            finally:
                await dotdigital.aclose()
        except FatalError as exc:
            # Nothing of the batch in hand was acknowledged, so nothing is committed for it.
            await crash(exc)

    return app.agent(topic, name=f"sink_{lane.name}")(agent)


def register(
    app: Any,
    topics: TopicSet,
    incidents: Incidents,
    metrics: Metrics,
    client: Callable[..., Awaitable[DotdigitalClient]],
    *,
    batch: LaneSettings,
    realtime: LaneSettings,
    poll_interval: float,
    consent_of: ConsentLookup | None = None,
    ledger: EnrolmentLedger | None = None,
    imports: Callable[[], ImportJournal] = ImportJournal,
    waiting: Waiting | None = None,
) -> None:
    """Declare both lanes on `app`; `client(background=…)` makes each lane's client.

    `consent_of` reads the join's `contacts` table for the consent gate; `ledger` is the
    enrolment ledger both lanes ask before every enrolment; `imports` makes the batch lane's
    import journal, one per run of the lane; `waiting` learns of every call the lanes keep
    retrying, for as long as they do.
    """
    gate = ConsentGate(consent_of)
    enrolments = ledger or EnrolmentLedger()

    async def observe(change: ConsentChanged) -> None:
        # Dotdigital's answer to a re-subscribe goes back to the join like any observation.
        sent = await topics.consent_observed.send(
            key=change.email.encode(), value=orjson.dumps(change.model_dump(mode="json"))
        )
        await sent

    def consent_writer(dotdigital: DotdigitalClient) -> ConsentWriter:
        return ConsentWriter(
            dotdigital, gate=gate, observe=observe, metrics=metrics, waiting=waiting
        )

    async def batch_client() -> DotdigitalClient:
        return await client(background=True)

    async def realtime_client() -> DotdigitalClient:
        return await client(background=False)

    register_lane(
        app,
        topics.writes,
        topics.trail,
        batch,
        incidents,
        metrics,
        lambda dotdigital: BatchWriter(
            dotdigital,
            poll_interval=poll_interval,
            gate=gate,
            consent=consent_writer(dotdigital),
            ledger=enrolments,
            waiting=waiting,
            metrics=metrics,
            imports=imports(),
            partition_of=lambda origin: origin.partition,
        ),
        batch_client,
    )
    register_lane(
        app,
        topics.writes_realtime,
        topics.trail,
        realtime,
        incidents,
        metrics,
        lambda dotdigital: RealtimeWriter(
            dotdigital,
            gate=gate,
            consent=consent_writer(dotdigital),
            ledger=enrolments,
            waiting=waiting,
        ),
        realtime_client,
    )
