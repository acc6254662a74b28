"""Consent writes and the sink's consent gate, against the real Dotdigital sandbox over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.contract.consent import ConsentSource, ConsentStatus
from schemas.contract.incidents import Reason
from schemas.dotdigital.commands import ConsentWrite, EnrolmentWrite, Lane, WriteCommand
from schemas.rules.consent import ConsentState
from streams.runtime.metrics import Metrics
from streams.sinks.consent_gate import ConsentGate
from streams.sinks.dotdigital.batch_writer import BatchWriter
from streams.sinks.dotdigital.consent_writer import PROPAGATION_TO_DOTDIGITAL, ConsentWriter
from streams.sinks.dotdigital.realtime_writer import RealtimeWriter
from tests.support.dotdigital import START
from tests.support.writes import ISSUED_AT, World, contact_write

PROGRAM = 1  # active in the sandbox's default account
CHANGED_AT = datetime.fromtimestamp(START, UTC) - timedelta(seconds=3)  # 3 s before "now"
Consents = dict[str, ConsentState]


def consent(
    action: str, email: str, event: str = "evt-consent", at: datetime = CHANGED_AT
) -> WriteCommand:
    return WriteCommand(
        command=ConsentWrite(
            email=email,
            action="unsubscribe" if action == "unsubscribe" else "resubscribe",
            consent_event_id=event,
            occurred_at=at,
            subject=f"contact {email} ({action})",
            source_event_id=event,
            issued_at=ISSUED_AT,
        )
    )


def enrolment(email: str, lane: Lane = Lane.BATCH) -> WriteCommand:
    return WriteCommand(
        command=EnrolmentWrite(
            lane=lane,
            email=email,
            program_id=PROGRAM,
            trigger="order_fulfilled",
            subject="order 000000001 (order_fulfilled)",
            source_event_id="evt-order",
            issued_at=ISSUED_AT,
        )
    )


def state(status: ConsentStatus, *, requested: str | None = None) -> ConsentState:
    return ConsentState(
        status=status,
        source=ConsentSource.DOTDIGITAL,
        reason="Unsubscribed",
        at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        event_id="evt-feed",
        requested=requested,
    )


class Observed:
    def __init__(self) -> None:
        self.changes: list[object] = []

    async def __call__(self, change: object) -> None:
        self.changes.append(change)


def writer(
    world: World, consents: Consents, observed: Observed, metrics: Metrics
) -> RealtimeWriter:
    gate = ConsentGate(consents.get)
    consent_writer = ConsentWriter(
        world.client,
        gate=gate,
        observe=observed,
        metrics=metrics,
        now=lambda: datetime.fromtimestamp(world.time.wall, UTC),
        sleep=world.retry_sleep,
    )
    return RealtimeWriter(world.client, sleep=world.retry_sleep, gate=gate, consent=consent_writer)


async def status_of(world: World, email: str) -> str | None:
    contact = await world.client.get_contact(email)
    return contact.status if contact else None


async def set_status(world: World, email: str, status: str) -> None:
    await world.dd.set_status(email, status)


async def test_an_unsubscribe_is_a_global_unsubscribe_and_its_time_is_measured(
    world: World,
) -> None:
    metrics, observed = Metrics(), Observed()
    email = "leaving@example.com"
    await writer(world, {}, observed, metrics).write([(contact_write(email), "c")])

    rejections = await writer(world, {}, observed, metrics).write(
        [(consent("unsubscribe", email), "u")]
    )

    assert rejections == []
    assert await status_of(world, email) == "unsubscribed"
    assert ("POST", "/v2/contacts/unsubscribe", 200) in world.network.calls()
    latency = metrics.snapshot()["latencies"][PROPAGATION_TO_DOTDIGITAL]  # type: ignore[index]
    assert latency["count"] == 1 and latency["max"] == 3.0


def later(world: World, seconds: float = 60.0) -> datetime:
    """Move the shared clock on, and say when "now" is."""
    world.time.advance(seconds)
    return datetime.fromtimestamp(world.time.wall, UTC)


async def test_a_challenged_resubscribe_goes_back_as_a_pending_observation(world: World) -> None:
    metrics, observed = Metrics(), Observed()
    email = "back@example.com"
    await set_status(world, email, "unsubscribed")
    consents = {email: state(ConsentStatus.PENDING, requested="evt-consent")}
    asked = later(world)  # the Commerce subscribe came after the unsubscribe

    rejections = await writer(world, consents, observed, metrics).write(
        [(consent("resubscribe", email, at=asked), "r")]
    )

    assert rejections == []
    # Dotdigital sent a confirmation email: the contact stays unsubscribed until they click.
    assert await status_of(world, email) == "unsubscribed"
    (change,) = observed.changes
    assert getattr(change, "status") is ConsentStatus.PENDING  # noqa: B009
    assert getattr(change, "answers") == "evt-consent"  # noqa: B009
    assert "confirmation email" in getattr(change, "reason")  # noqa: B009


async def test_a_hard_bounced_contact_is_not_resubscribed_and_the_answer_says_why(
    world: World,
) -> None:
    observed = Observed()
    email = "bounced@example.com"
    await set_status(world, email, "hardBounced")
    consents = {email: state(ConsentStatus.PENDING, requested="evt-consent")}
    asked = later(world)

    await writer(world, consents, observed, Metrics()).write(
        [(consent("resubscribe", email, at=asked), "r")]
    )

    assert await status_of(world, email) == "hardBounced"
    (change,) = observed.changes
    assert getattr(change, "status") is ConsentStatus.SUPPRESSED  # noqa: B009
    assert "hardBounced" in getattr(change, "reason")  # noqa: B009


async def test_an_unsubscribe_in_dotdigital_after_the_request_wins_over_it(world: World) -> None:
    observed = Observed()
    email = "changed-mind@example.com"
    await writer(world, {}, observed, Metrics()).write([(contact_write(email), "c")])
    asked = later(world)
    later(world, 5)
    await set_status(world, email, "unsubscribed")  # clicked in an email after the sign-up
    consents = {email: state(ConsentStatus.PENDING, requested="evt-consent")}

    rejections = await writer(world, consents, observed, Metrics()).write(
        [(consent("resubscribe", email, at=asked), "r")]
    )

    assert rejections == []
    assert await status_of(world, email) == "unsubscribed"
    assert not any(path == "/v2/contacts/resubscribe" for _, path, _ in world.network.calls())
    (change,) = observed.changes
    assert getattr(change, "status") is ConsentStatus.UNSUBSCRIBED  # noqa: B009
    assert getattr(change, "source") is ConsentSource.DOTDIGITAL  # noqa: B009


async def test_a_subscribed_contact_needs_no_resubscribe_call(world: World) -> None:
    observed = Observed()
    email = "already@example.com"
    await writer(world, {}, observed, Metrics()).write([(contact_write(email), "c")])
    consents = {email: state(ConsentStatus.PENDING, requested="evt-consent")}

    await writer(world, consents, observed, Metrics()).write([(consent("resubscribe", email), "r")])

    assert not any(path == "/v2/contacts/resubscribe" for _, path, _ in world.network.calls())
    (change,) = observed.changes
    assert getattr(change, "status") is ConsentStatus.SUBSCRIBED  # noqa: B009


async def test_a_resubscribe_overtaken_by_an_opt_out_is_not_sent(world: World) -> None:
    observed = Observed()
    email = "overtaken@example.com"
    await set_status(world, email, "unsubscribed")
    consents = {email: state(ConsentStatus.UNSUBSCRIBED)}

    (rejection,) = await writer(world, consents, observed, Metrics()).write(
        [(consent("resubscribe", email), "r")]
    )

    assert rejection.reason is Reason.CONSENT_GATE
    assert rejection.detail == "re-subscribe skipped: unsubscribed on 2026-11-26 via dotdigital"
    assert not any(path == "/v2/contacts/resubscribe" for _, path, _ in world.network.calls())
    assert observed.changes == [] and await status_of(world, email) == "unsubscribed"


async def enrolled(world: World) -> int:
    return len((await world.dd.admin("enrolments"))["enrolments"])


async def test_the_batch_lane_enrols_no_one_who_opted_out(world: World) -> None:
    kept, gone, bounced = "kept@example.com", "gone@example.com", "bounced@example.com"
    sink = BatchWriter(
        world.client,
        sleep=world.retry_sleep,
        gate=ConsentGate({gone: state(ConsentStatus.UNSUBSCRIBED)}.get),
    )
    await sink.write([(contact_write(email), email) for email in (kept, gone, bounced)])
    await set_status(world, bounced, "hardBounced")  # known only to Dotdigital so far

    rejections = await sink.write([(enrolment(email), email) for email in (kept, gone, bounced)])

    assert {(r.origin, r.reason, r.detail) for r in rejections} == {
        (gone, Reason.CONSENT_GATE, "enrolment skipped: unsubscribed on 2026-11-26 via dotdigital"),
        (bounced, Reason.CONSENT_GATE, "enrolment skipped: hardBounced in Dotdigital"),
    }
    assert await enrolled(world) == 1


async def test_the_realtime_lane_enrols_no_one_who_opted_out(world: World) -> None:
    email = "rt-gone@example.com"
    realtime = writer(world, {}, Observed(), Metrics())
    await realtime.write([(contact_write(email), "c")])
    await set_status(world, email, "unsubscribed")

    (rejection,) = await realtime.write([(enrolment(email, Lane.REALTIME), "e")])

    assert rejection.reason is Reason.CONSENT_GATE
    assert rejection.detail == "enrolment skipped: unsubscribed in Dotdigital"
    assert await enrolled(world) == 0
