"""Consent changes written to Dotdigital: a global unsubscribe, or a re-subscribe request whose
answer goes back to the join as a Dotdigital observation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from connectors.dotdigital.client import DotdigitalClient
from connectors.privacy import mask_email
from schemas.contract.consent import ConsentChanged, ConsentStatus
from schemas.dotdigital.commands import ConsentWrite
from schemas.normalize.consent import ADDED, from_resubscribe, from_suppression
from streams.runtime.metrics import Metrics
from streams.runtime.retrying import Waiting, retry_until_settled
from streams.sinks.consent_gate import ConsentGate

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
        waiting: Waiting | None = None,
    ) -> None:
        self._client = client
        self._gate = gate or ConsentGate()
        self._observe = observe
        self._metrics = metrics or Metrics()
        self._now = now
        self._sleep = sleep
        self._waiting = waiting

    async def write(self, command: ConsentWrite) -> str | None:
        """None once Dotdigital has it; the gate's reason when it must not go out.

        SkippableError (Dotdigital refused the address for good) propagates to the caller.
        """
        if command.action == "unsubscribe":
            await retry_until_settled(
                lambda: self._client.unsubscribe(command.email), self._sleep, self._waiting
            )
            self._arrived(command)
            return None
        refusal = self._gate.resubscribe(command.email, command.consent_event_id)
        if refusal is not None:
            return refusal

        email = command.email
        contact = await retry_until_settled(
            lambda: self._client.get_contact(email), self._sleep, self._waiting
        )
        if contact is not None and contact.status == ConsentStatus.SUBSCRIBED.value:
            answer = ADDED  # what Dotdigital answers a subscribed contact; no call needed
        else:
            if contact is not None:
                newer = await self._opted_out_since(email, command.occurred_at)
                if newer is not None:
                    # The contact opted out in Dotdigital after asking Commerce: that wins.
                    log.info("re-subscribe overtaken in Dotdigital for %s", mask_email(email))
                    await self._observe(newer)
                    return None

            async def resubscribe() -> str:
                return await self._client.resubscribe(email)

            answer = await retry_until_settled(resubscribe, self._sleep, self._waiting)
        log.info(
            "re-subscribe answered %s for %s", answer, mask_email(email), extra={"answer": answer}
        )
        change = from_resubscribe(
            email,
            answer,
            request=command.consent_event_id,
            at=self._now(),
            contact_status=contact.status if contact is not None else None,
        )
        await self._observe(change)
        self._arrived(command)
        return None

    async def _opted_out_since(self, email: str, since: datetime) -> ConsentChanged | None:
        """The contact's own unsubscribe or suppression in Dotdigital at or after `since`."""

        async def rows() -> list[dict[str, Any]]:
            return [row async for row in self._client.suppressed_since(since)]

        found = None
        for row in await retry_until_settled(rows, self._sleep, self._waiting):
            try:
                change = from_suppression(row)
            except ValueError:
                continue  # the poller reports unreadable rows
            if change.email == email and change.occurred_at >= since:
                found = change
        return found

    def _arrived(self, command: ConsentWrite) -> None:
        seconds = (self._now() - command.occurred_at).total_seconds()
        self._metrics.observe(PROPAGATION_TO_DOTDIGITAL, max(seconds, 0.0))
        self._metrics.add(f"consent.{command.action}s")
