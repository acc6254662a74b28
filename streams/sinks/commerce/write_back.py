"""The Commerce write-back: a Dotdigital opt-out unsubscribes the registered customer in Commerce.

Offsets advance only once Commerce accepted the write or the command was dead-lettered: the
agent takes each command without acknowledging it and acknowledges it when it is settled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from connectors.clock import Sleep
from connectors.commerce.client import CommerceClient
from connectors.errors import FatalError, SkippableError
from connectors.privacy import mask_email
from schemas.commerce.writeback import CommerceUnsubscribe
from schemas.contract.incidents import Reason
from schemas.moments import as_utc
from streams.runtime.faults import Record, guarded
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.retrying import retry_until_settled
from streams.sinks.consent_gate import ConsentGate, ConsentLookup

log = logging.getLogger(__name__)

PROPAGATION = "consent.propagation.dotdigital_to_commerce"
WRITES = "consent.commerce_writes"


def _now() -> datetime:
    return datetime.now(UTC)


class WriteBack:
    """Applies write-back commands to Commerce; retriable errors wait, fatal errors propagate."""

    def __init__(
        self,
        client: CommerceClient,
        *,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], datetime] = _now,
        metrics: Metrics,
        gate: ConsentGate | None = None,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._now = now
        self._metrics = metrics
        self._gate = gate or ConsentGate()

    async def apply(self, command: CommerceUnsubscribe) -> str | None:
        """None once Commerce has the customer unsubscribed; else Commerce's words for why not."""
        fields = {
            "customer_id": command.customer_id,
            "email": mask_email(command.email),
            "consent_event_id": command.consent_event_id,
        }
        held = self._gate.write_back(command.email)
        if held is not None:
            log.info("%s", held, extra=fields)
            self._metrics.add(f"{WRITES}_skipped")
            return None
        try:
            # Retried for as long as it takes, as the sink does: the partition waits.
            await retry_until_settled(
                partial(self._client.unsubscribe_customer, command.customer_id), self._sleep
            )
        except SkippableError as exc:
            refusal = words(exc, command.customer_id)
            log.warning("commerce refused the write-back: %s", refusal, extra=fields)
            return refusal
        seconds = (self._now() - as_utc(command.occurred_at)).total_seconds()
        self._metrics.observe(PROPAGATION, seconds)
        self._metrics.add(WRITES)
        log.info(
            "opt-out written back to commerce",
            extra={**fields, "reason": command.reason, "propagation_s": round(seconds, 3)},
        )
        return None


def words(exc: SkippableError, customer_id: int) -> str:
    """A refusal as the dead letter tells it, naming the customer."""
    answered = f"Commerce answered {exc.status}" if exc.status else "refused before sending"
    parts = [f"customer {customer_id}", answered]
    if exc.code:
        parts.append(exc.code)
    parts.append(exc.description or str(exc))
    return ": ".join(parts)


def register(
    app: Any,
    topic: Any,
    incidents: Incidents,
    metrics: Metrics,
    client_factory: Callable[[], Awaitable[CommerceClient]],
    consent_of: ConsentLookup | None = None,
) -> Any:
    """Declare the write-back agent on `topic`; `client_factory()` makes its Commerce client,
    which is closed when the agent stops; `consent_of` reads the join's table for the gate."""
    gate = ConsentGate(consent_of)

    async def settle(event: Any, writeback: WriteBack) -> None:
        message = event.message
        key = (event.key or b"").decode(errors="replace")
        command = await incidents.read(event, CommerceUnsubscribe, "a v1 Commerce write-back")
        if command is None:
            return
        refusal = await writeback.apply(command)
        if refusal is not None:
            await incidents.dead_letter(
                reason=Reason.COMMERCE_REJECTED,
                detail=refusal,
                original=event.value,
                source_topic=message.topic,
                key=key,
                subject=f"customer {command.customer_id} ({command.email}) unsubscribe",
                email=command.email,
                partition=message.partition,
                offset=message.offset,
                event_id=command.consent_event_id,
            )

    async def agent(stream: Any) -> None:
        try:
            client = await client_factory()
            try:
                writeback = WriteBack(client, metrics=metrics, gate=gate)
                commands = stream.noack()
                async for event in commands.events():
                    async with guarded(incidents, Record.of(event)):
                        await settle(event, writeback)
                    await commands.ack(event)
            finally:
                await client.aclose()
        except FatalError as exc:
            # The command in hand was not acknowledged, so its offset is not committed.
            log.critical("Commerce refuses every call, stopping the worker: %s", exc)
            await app.crash(exc)

    return app.agent(topic, name="commerce_writeback")(agent)
