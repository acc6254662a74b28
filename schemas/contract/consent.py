"""The consent contract on `consent.v1`: statuses, sources, and one consent change from either side."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from schemas.contract.normalized import ContractModel


class ConsentStatus(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    SUPPRESSED = "suppressed"
    PENDING = "pending"


class ConsentSource(StrEnum):
    COMMERCE = "commerce"
    DOTDIGITAL = "dotdigital"


OPTED_OUT = frozenset({ConsentStatus.UNSUBSCRIBED, ConsentStatus.SUPPRESSED})


class ConsentChanged(ContractModel):
    """`consent.v1` (key: normalized email): one consent change, from either side.

    Cartwright's internal observation topic carries the same body for everything either side
    reports; `consent.v1` only what changed the contact's consent, once.
    """

    schema_version: int = 1
    email: str
    status: ConsentStatus
    source: ConsentSource
    reason: str = Field(description="why, in the source's words (newsletter status, feed reason)")
    occurred_at: AwareDatetime = Field(description="when it happened on its side")
    event_id: str = Field(description="the originating event: Adobe I/O eventid or feed row id")
    customer_id: int | None = Field(
        default=None, description="the Commerce customer, when the subscriber is registered"
    )
    answers: str | None = Field(
        default=None, description="a Dotdigital answer: the event id of the re-subscribe it answers"
    )
    snapshot: bool = Field(
        default=False,
        description=(
            "a state a record shows (a customer save's is_subscribed), not an action: "
            "'not subscribed' is an opt-out only as a move away from subscribed"
        ),
    )
