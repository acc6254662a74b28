"""Consent both ways: the per-email consent state and the rules that fold changes into it.

Dotdigital owns consent. An unsubscribe on either side wins at once and reaches the other side; a
re-subscribe from Commerce is a request Dotdigital answers (it never lifts a bounce, complaint or
suppression); nothing travels back to the side it came from. Everything here is pure: the join
folds observations with `fold_consent`, the sink asks `enrolment_refusal` and
`resubscribe_refusal` before it writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from schemas.contract.consent import OPTED_OUT, ConsentChanged, ConsentSource, ConsentStatus
from schemas.dotdigital.commands import RESUBSCRIBE, UNSUBSCRIBE, ConsentAction


class ConsentState(BaseModel):
    """A contact's consent as Cartwright knows it (part of the `contacts` table value)."""

    status: ConsentStatus
    source: ConsentSource
    reason: str
    at: datetime
    event_id: str
    customer_id: int | None = None
    commerce_subscribed: bool | None = Field(
        default=None, description="Commerce's newsletter status as last seen or written back"
    )
    commerce_at: datetime | None = Field(
        default=None, description="time of the newest Commerce observation applied"
    )
    requested: str | None = Field(
        default=None, description="a re-subscribe sent to Dotdigital and not answered yet"
    )


class NoticeKind(StrEnum):
    RESUBSCRIBE_REFUSED = "resubscribe_refused"
    GUEST_UNSUBSCRIBE = "guest_unsubscribe"


@dataclass(frozen=True)
class Notice:
    """Something an operator should know about a consent change; nothing was lost."""

    kind: NoticeKind
    message: str


@dataclass(frozen=True)
class ConsentOutcome:
    """What one observation does: the new state, the change to publish, the writes it needs."""

    state: ConsentState | None
    published: ConsentChanged | None = None
    to_dotdigital: ConsentAction | None = None
    to_commerce: bool = False  # write `is_subscribed: false` back for `state.customer_id`
    notices: list[Notice] = field(default_factory=list)


def on_day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def describe(state: ConsentState) -> str:
    """`unsubscribed on 2026-11-26 via dotdigital`."""
    return f"{state.status.value} on {on_day(state.at)} via {state.source.value}"


def enrolment_refusal(state: ConsentState | None) -> str | None:
    """Why a program enrolment must not go out, or None. No consent known: nothing refuses it.

    A re-subscribe Dotdigital challenged is settled by the person's click, which only Dotdigital
    sees: its own status (the sink asks it before every enrolment) decides then.
    """
    if state is None or state.status is ConsentStatus.SUBSCRIBED or challenged(state):
        return None
    return f"enrolment skipped: {describe(state)}"


def challenged(state: ConsentState) -> bool:
    """Dotdigital answered a re-subscribe with a confirmation email (pending its click)."""
    return (
        state.status is ConsentStatus.PENDING
        and state.source is ConsentSource.DOTDIGITAL
        and state.requested is None
    )


def dotdigital_refusal(status: str | None) -> str | None:
    """Why an enrolment must not go out given the contact's email status in Dotdigital itself."""
    if status is None or status.lower() == ConsentStatus.SUBSCRIBED.value:
        return None
    return f"enrolment skipped: {status} in Dotdigital"


def write_back_refusal(state: ConsentState | None) -> str | None:
    """Why a Commerce write-back must not go out: the contact is no longer opted out (a later
    subscribe in Commerce, say, and the write-back replayed after a restart)."""
    if state is None or state.status in OPTED_OUT:
        return None
    return f"write-back skipped: {describe(state)}"


def resubscribe_refusal(state: ConsentState | None, request: str) -> str | None:
    """Why a re-subscribe (a subscribed status write) must not go out: a later change won."""
    if state is None or state.requested == request:
        return None
    return f"re-subscribe skipped: {describe(state)}"


def fold_consent(
    state: ConsentState | None, change: ConsentChanged, *, customer_id: int | None = None
) -> ConsentOutcome:
    """Apply one observation; `customer_id` is the registered customer the contact table knows."""
    if state is not None and change.event_id == state.event_id:
        return ConsentOutcome(state)
    if change.source is ConsentSource.COMMERCE:
        return _from_commerce(state, change, customer_id)
    if change.answers is not None:
        return _answer(state, change, customer_id)
    return _from_dotdigital(state, change, customer_id)


def _moved(
    state: ConsentState | None, change: ConsentChanged, **extra: Any
) -> tuple[ConsentState, ConsentChanged | None]:
    """The state after `change` becomes the contact's consent, and the change to publish (none
    when the status stays what it was)."""
    kept = state.model_dump() if state is not None else {}
    kept.update(
        status=change.status,
        source=change.source,
        reason=change.reason,
        at=change.occurred_at,
        event_id=change.event_id,
        requested=None,
    )
    kept.update(extra)
    moved = ConsentState.model_validate(kept)
    unchanged = state is not None and state.status is change.status
    return moved, None if unchanged else change


def _from_commerce(
    state: ConsentState | None, change: ConsentChanged, known_customer: int | None
) -> ConsentOutcome:
    subscribe = change.status is ConsentStatus.SUBSCRIBED
    last = state.commerce_at if state is not None else None
    if last is not None and change.occurred_at < last:
        return ConsentOutcome(state)  # an older Commerce save, delivered late
    if state is not None and subscribe and change.occurred_at == last:
        # Commerce dates saves to the second: a subscribe in the very second of another save
        # is a repeat of it, or loses to it (an opt-out wins a tie) — and then Commerce, which
        # may show it, is put back in step with the opt-out.
        if state.commerce_subscribed is not False or state.status not in OPTED_OUT:
            return ConsentOutcome(state)
        lost = state.model_copy(update={"commerce_subscribed": True})
        new, to_commerce, notices = _write_back(lost, change.email, known_customer)
        return ConsentOutcome(new, to_commerce=to_commerce, notices=notices)
    seen = {
        "commerce_subscribed": subscribe,
        "commerce_at": change.occurred_at,
        "customer_id": change.customer_id
        or (state.customer_id if state else None)
        or known_customer,
    }
    current = state.status if state is not None else None
    if (
        change.snapshot
        and change.status is ConsentStatus.UNSUBSCRIBED
        and (state is None or state.commerce_subscribed is not True)
    ):
        # "Not subscribed" on a customer record is not an opt-out: nobody known to have been
        # subscribed in Commerce is unsubscribed anywhere by it (a backfill reads thousands).
        if state is None:
            return ConsentOutcome(None)
        return ConsentOutcome(state.model_copy(update=seen))
    if change.status is ConsentStatus.UNSUBSCRIBED:
        if current in OPTED_OUT:
            # Already opted out (often our own write-back coming round): nothing travels on.
            assert state is not None
            return ConsentOutcome(state.model_copy(update=seen))
        new, published = _moved(state, change, **seen)
        return ConsentOutcome(new, published, to_dotdigital=UNSUBSCRIBE)
    if change.status is ConsentStatus.PENDING:
        if current in OPTED_OUT:
            assert state is not None
            return ConsentOutcome(state.model_copy(update=seen))
        # Awaiting confirmation in Commerce: no journeys, and a subscribe request not yet sent
        # is withdrawn (the gate holds it back: nothing is requested any more).
        new, published = _moved(state, change, **seen)
        return ConsentOutcome(new, published)
    if current is ConsentStatus.SUBSCRIBED or (
        current is ConsentStatus.PENDING and state is not None and state.requested is not None
    ):
        assert state is not None
        return ConsentOutcome(state.model_copy(update=seen))  # subscribed, or already asked
    if (
        state is not None
        and current in OPTED_OUT
        and state.source is ConsentSource.DOTDIGITAL
        and change.occurred_at <= state.at
    ):
        # Older than the opt-out Dotdigital reported: the unsubscribe wins, and Commerce is
        # put back in step with it.
        new, to_commerce, notices = _write_back(
            state.model_copy(update=seen), change.email, known_customer
        )
        return ConsentOutcome(new, to_commerce=to_commerce, notices=notices)
    # A subscribe is a request: Dotdigital decides (it may challenge, or refuse a suppression);
    # until it answers the contact counts as pending.
    request = change.model_copy(
        update={"status": ConsentStatus.PENDING, "reason": f"{change.reason}: asked Dotdigital"}
    )
    new, published = _moved(state, request, **seen, requested=change.event_id)
    return ConsentOutcome(new, published, to_dotdigital=RESUBSCRIBE)


def _write_back(
    state: ConsentState, email: str, known_customer: int | None
) -> tuple[ConsentState, bool, list[Notice]]:
    """Whether Commerce must hear of a Dotdigital opt-out, and what to tell an operator."""
    if state.commerce_subscribed is False:
        return state, False, []
    customer = state.customer_id or known_customer
    if customer:
        return (
            state.model_copy(update={"commerce_subscribed": False, "customer_id": customer}),
            True,
            [],
        )
    if state.commerce_subscribed is None:
        return state, False, []  # Commerce has never had this address as a subscriber
    notice = Notice(
        NoticeKind.GUEST_UNSUBSCRIBE,
        f"guest subscriber {email} is {state.status.value} in Dotdigital "
        f"({state.reason}); Commerce has no API for guest subscribers, so their newsletter "
        "status there stays as it is — Dotdigital keeps enforcing the suppression",
    )
    return state.model_copy(update={"commerce_subscribed": False}), False, [notice]


def _from_dotdigital(
    state: ConsentState | None, change: ConsentChanged, known_customer: int | None
) -> ConsentOutcome:
    if state is not None and (
        (
            state.status in OPTED_OUT
            and (state.status is change.status or change.status is ConsentStatus.UNSUBSCRIBED)
        )
        # Older than a subscribe request still unanswered: Dotdigital's answer settles it.
        or (state.requested is not None and change.occurred_at < state.at)
    ):
        # The feed confirming what we already know (our own unsubscribe, an overlap row).
        return ConsentOutcome(state)
    new, published = _moved(state, change)
    new, to_commerce, notices = _write_back(new, change.email, known_customer)
    return ConsentOutcome(new, published, to_commerce=to_commerce, notices=notices)


def _answer(
    state: ConsentState | None, change: ConsentChanged, known_customer: int | None
) -> ConsentOutcome:
    if state is None or state.requested != change.answers:
        # A later change overtook this request. If Dotdigital took the contact back while that
        # change was an opt-out, the opt-out still wins: unsubscribe again.
        if (
            state is not None
            and state.status in OPTED_OUT
            and change.status is ConsentStatus.SUBSCRIBED
        ):
            return ConsentOutcome(state, to_dotdigital=UNSUBSCRIBE)
        return ConsentOutcome(state)
    new, published = _moved(state, change)
    if change.status is not ConsentStatus.SUPPRESSED:
        return ConsentOutcome(new, published)
    new, to_commerce, notices = _write_back(new, change.email, known_customer)
    refused = Notice(
        NoticeKind.RESUBSCRIBE_REFUSED,
        f"{change.email} re-subscribed in Commerce but stays suppressed in Dotdigital: "
        f"{change.reason}",
    )
    return ConsentOutcome(
        new,
        published,
        to_commerce=to_commerce,
        notices=[refused, *(n for n in notices if n.kind is not NoticeKind.GUEST_UNSUBSCRIBE)],
    )


def merge_consent(current: ConsentState | None, moved: ConsentState | None) -> ConsentState | None:
    """After an email change: the consent known under the new address wins, else the old one's."""
    return current if current is not None else moved
