"""Consent both ways: the `consent.v1` contract, the per-email consent state and its rules.

Dotdigital owns consent. An unsubscribe on either side wins at once and reaches the other side; a
re-subscribe from Commerce is a request Dotdigital answers (it never lifts a bounce, complaint or
suppression); nothing travels back to the side it came from. Everything here is pure: the join
folds observations with `fold_consent`, the sink asks `enrolment_refusal` and
`resubscribe_refusal` before it writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from schemas.commerce import CommerceCustomer, CommerceSubscriber
from schemas.email import normalize_email
from schemas.normalized import ContractModel


class ConsentStatus(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    SUPPRESSED = "suppressed"
    PENDING = "pending"


class ConsentSource(StrEnum):
    COMMERCE = "commerce"
    DOTDIGITAL = "dotdigital"


OPTED_OUT = frozenset({ConsentStatus.UNSUBSCRIBED, ConsentStatus.SUPPRESSED})

# Commerce newsletter subscriber statuses.
SUBSCRIBER_STATUSES: dict[int, tuple[ConsentStatus, str]] = {
    1: (ConsentStatus.SUBSCRIBED, "newsletter status 1 (subscribed)"),
    2: (ConsentStatus.PENDING, "newsletter status 2 (not active: awaiting confirmation)"),
    3: (ConsentStatus.UNSUBSCRIBED, "newsletter status 3 (unsubscribed)"),
    4: (ConsentStatus.PENDING, "newsletter status 4 (unconfirmed)"),
}

# Dotdigital's answers to a v2 resubscribe.
ADDED = "ContactAdded"
CHALLENGED = "ContactChallenged"
CANNOT_BE_UNSUPPRESSED = "ContactCannotBeUnsuppressed"


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


# What a change asks of Dotdigital: a global unsubscribe, or a re-subscribe request.
Carry = Literal["unsubscribe", "resubscribe"]
UNSUBSCRIBE: Final = "unsubscribe"
RESUBSCRIBE: Final = "resubscribe"


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
    to_dotdigital: Carry | None = None
    to_commerce: bool = False  # write `is_subscribed: false` back for `state.customer_id`
    notices: list[Notice] = field(default_factory=list)


def on_day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def describe(state: ConsentState) -> str:
    """`unsubscribed on 2026-11-26 via dotdigital`."""
    return f"{state.status.value} on {on_day(state.at)} via {state.source.value}"


def enrolment_refusal(state: ConsentState | None) -> str | None:
    """Why a program enrolment must not go out, or None. No consent known: nothing refuses it."""
    if state is None or state.status is ConsentStatus.SUBSCRIBED:
        return None
    return f"enrolment skipped: {describe(state)}"


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


# --- observations -------------------------------------------------------------------------------


def from_subscriber(
    value: Mapping[str, Any], *, event_id: str, occurred_at: datetime | None
) -> ConsentChanged:
    """A Commerce newsletter subscriber save (statuses 1 to 4, guests and customers).

    Its time is the event's (milliseconds), else the subscriber's `change_status_at` (seconds).
    """
    subscriber = CommerceSubscriber.model_validate(value)
    known = SUBSCRIBER_STATUSES.get(subscriber.subscriber_status)
    if known is None:
        raise ValueError(f"subscriber_status {subscriber.subscriber_status} is not 1, 2, 3 or 4")
    status, reason = known
    return ConsentChanged(
        email=normalize_email(subscriber.subscriber_email),
        status=status,
        source=ConsentSource.COMMERCE,
        reason=reason,
        occurred_at=occurred_at or subscriber.change_status_at or datetime.now(UTC),
        event_id=event_id,
        customer_id=subscriber.customer_id,
    )


def from_customer(
    customer: CommerceCustomer, *, event_id: str, occurred_at: datetime
) -> ConsentChanged | None:
    """A customer save that carries `extension_attributes.is_subscribed`, as some setups send."""
    if customer.is_subscribed is None:
        return None
    subscribed = customer.is_subscribed
    return ConsentChanged(
        email=normalize_email(customer.email),
        status=ConsentStatus.SUBSCRIBED if subscribed else ConsentStatus.UNSUBSCRIBED,
        source=ConsentSource.COMMERCE,
        reason=f"customer is_subscribed {'true' if subscribed else 'false'}",
        occurred_at=customer.updated_at or occurred_at,
        event_id=event_id,
        customer_id=customer.id,
    )


class SuppressionRow(BaseModel):
    """One row of Dotdigital's `unsubscribed-since` / `suppressed-since` feeds."""

    contact_id: int
    email: str
    date_removed: AwareDatetime
    reason: str

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> SuppressionRow:
        contact = row.get("suppressedContact")
        if not isinstance(contact, Mapping):
            raise ValueError("feed row has no suppressedContact")
        when = row.get("dateRemoved")
        if isinstance(when, str) and not when.endswith("Z") and "+" not in when[10:]:
            when += "Z"  # Dotdigital writes UTC, not always with a zone
        try:
            return cls.model_validate(
                {
                    "contact_id": contact.get("id"),
                    "email": contact.get("email"),
                    "date_removed": when,
                    "reason": row.get("reason") or "Suppressed",
                }
            )
        except ValidationError as exc:
            raise ValueError(f"feed row not understood: {exc.error_count()} problem(s)") from exc


def from_suppression(row: Mapping[str, Any]) -> ConsentChanged:
    """A feed row: `Unsubscribed` is an unsubscribe, every other reason a suppression."""
    parsed = SuppressionRow.parse(row)
    status = (
        ConsentStatus.UNSUBSCRIBED
        if parsed.reason.lower() == "unsubscribed"
        else ConsentStatus.SUPPRESSED
    )
    return ConsentChanged(
        email=normalize_email(parsed.email),
        status=status,
        source=ConsentSource.DOTDIGITAL,
        reason=parsed.reason,
        occurred_at=parsed.date_removed,
        # The same row in both feeds, or in an overlapping poll, is the same event.
        event_id=f"dotdigital:{parsed.contact_id}:{parsed.reason}:{parsed.date_removed.isoformat()}",
    )


def from_resubscribe(
    email: str, answer: str, *, request: str, at: datetime, contact_status: str | None = None
) -> ConsentChanged:
    """Dotdigital's answer to the re-subscribe sent for `request`."""
    if answer == ADDED:
        status, reason = ConsentStatus.SUBSCRIBED, "re-subscribed in Dotdigital"
    elif answer == CHALLENGED:
        status = ConsentStatus.PENDING
        reason = "Dotdigital sent a confirmation email; unsubscribed until it is clicked"
    else:
        status = ConsentStatus.SUPPRESSED
        why = f"the contact is {contact_status}" if contact_status else "the contact is suppressed"
        reason = (
            f"re-subscribe refused by Dotdigital ({answer}): {why}; a bounce, complaint or "
            "suppression is never lifted by a re-subscribe"
        )
    return ConsentChanged(
        email=email,
        status=status,
        source=ConsentSource.DOTDIGITAL,
        reason=reason,
        occurred_at=at,
        event_id=f"dotdigital:resubscribe:{request}",
        answers=request,
    )


# --- the rules ----------------------------------------------------------------------------------


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
