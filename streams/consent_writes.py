"""Consent changes written to Dotdigital: a global unsubscribe, or a re-subscribe request whose
answer goes back to the join as a Dotdigital observation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from connectors.dotdigital.client import DotdigitalClient
from connectors.privacy import mask_email
from schemas.commands import ConsentWrite
from schemas.consent import CANNOT_BE_UNSUPPRESSED, ConsentChanged, from_resubscribe
from streams.gate import ConsentGate
from streams.metrics import Metrics
from streams.patience import patiently

log = logging.getLogger(__name__)

Observe = Callable[[ConsentChanged], Awaitable[None]]
PROPAGATION_TO_DOTDIGITAL = "consent.propagation.commerce_to_dotdigital"


async def _nowhere(_change: ConsentChanged) -> None:
    return None


class ConsentWriter:
    """Carries one consent command to Dotdigital; a skipped re-subscribe returns its reason."""

    def __init__(
        self,
        client: DotdigitalClient,
        *,
        gate: ConsentGate | None = None,
        observe: Observe = _nowhere,
        metrics: Metrics | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._gate = gate or ConsentGate()
        self._observe = observe
        self._metrics = metrics or Metrics()
        self._now = now
        self._sleep = sleep

    async def write(self, command: ConsentWrite) -> str | None:
        """None once Dotdigital has it; the gate's reason when it must not go out.

        SkippableError (Dotdigital refused the address for good) propagates to the caller.
        """
        if command.action == "unsubscribe":
            await patiently(lambda: self._client.unsubscribe(command.email), self._sleep)
            self._arrived(command)
            return None
        refusal = self._gate.resubscribe(command.email, command.consent_event_id)
        if refusal is not None:
            return refusal

        async def resubscribe() -> str:
            return await self._client.resubscribe(command.email)

        answer = await patiently(resubscribe, self._sleep)
        status = None
        if answer == CANNOT_BE_UNSUPPRESSED:
            contact = await patiently(lambda: self._client.get_contact(command.email), self._sleep)
            status = contact.status if contact is not None else None
        log.info(
            "re-subscribe answered %s for %s",
            answer,
            mask_email(command.email),
            extra={"answer": answer},
        )
        change = from_resubscribe(
            command.email,
            answer,
            request=command.consent_event_id,
            at=self._now(),
            contact_status=status,
        )
        await self._observe(change)
        self._arrived(command)
        return None

    def _arrived(self, command: ConsentWrite) -> None:
        seconds = (self._now() - command.occurred_at).total_seconds()
        self._metrics.observe(PROPAGATION_TO_DOTDIGITAL, max(seconds, 0.0))
        self._metrics.add(f"consent.{command.action}s")
