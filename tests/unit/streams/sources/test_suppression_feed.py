"""The suppression poller against the real Dotdigital sandbox over HTTP, on one fake clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from connectors.dotdigital.client import DotdigitalClient
from connectors.errors import FatalError
from schemas.contract.consent import ConsentChanged, ConsentStatus
from schemas.contract.incidents import DeadLetter, Reason
from schemas.normalize.consent import from_suppression
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.runtime.topics import TopicSet
from streams.settings import ConsentSettings, Settings
from streams.sources import suppression_feed
from streams.sources.suppression_feed import CURSOR, SuppressionPoller, register
from tests.support.dotdigital import Dotdigital, make_client
from tests.support.network import Plug
from tests.support.topic import RecordingTopic

STATUS_OF = {
    "unsubscribed": ConsentStatus.UNSUBSCRIBED,
    "hardBounced": ConsentStatus.SUPPRESSED,
    "ispComplained": ConsentStatus.SUPPRESSED,
}


@dataclass
class MemoryCursors:
    """The cursor store's contract in memory: every save kept, the last one per name loaded."""

    saved: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    loads: int = 0

    async def load(self, name: str) -> dict[str, Any] | None:
        self.loads += 1
        return next((doc for saved, doc in reversed(self.saved) if saved == name), None)

    async def save(self, name: str, document: dict[str, Any]) -> None:
        self.saved.append((name, dict(document)))


@dataclass
class Outbox:
    """What the poller published and reported, in order."""

    published: list[ConsentChanged] = field(default_factory=list)
    reported: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)

    async def publish(self, email: str, change: ConsentChanged) -> None:
        assert email == change.email
        self.published.append(change)

    async def report(self, row: Mapping[str, Any], problem: str, reason: Reason) -> None:
        self.reported.append((row, problem))
        self.reasons.append(reason)


def wall(dd: Dotdigital) -> datetime:
    return datetime.fromtimestamp(dd.time.wall, UTC)


def poller(
    dd: Dotdigital,
    outbox: Outbox,
    cursors: MemoryCursors,
    *,
    client: DotdigitalClient | None = None,
    first_poll_since: datetime | None = None,
) -> SuppressionPoller:
    return SuppressionPoller(
        client or dd.client,
        outbox.publish,
        cursors,
        overlap=600.0,
        first_poll_since=first_poll_since,
        report=outbox.report,
        now=lambda: wall(dd),
        metrics=Metrics(),
    )


async def suppress(dd: Dotdigital, email: str, status: str) -> None:
    if status == "unsubscribed":
        await dd.client.unsubscribe(email)
    else:
        await dd.set_status(email, status)


def skips(dd: Dotdigital, feed: str, since: str) -> list[str]:
    pages = dd.network.to("GET", f"/v2/contacts/{feed}/{since}")
    return [page.params["skip"] for page in pages]


async def test_a_48_hour_outage_is_caught_up_by_one_poll(dd: Dotdigital) -> None:
    cursors, outbox = MemoryCursors(), Outbox()
    await dd.client.unsubscribe("before@example.com")
    dd.advance(30)
    first = await poller(dd, outbox, cursors).poll_once()
    assert [c.email for c in outbox.published] == ["before@example.com"]
    assert first.checkpoint is not None

    # The poller is down for 48 hours while 2,400 contacts opt out or bounce.
    dice = random.Random(48)
    created: dict[str, ConsentStatus] = {}
    kinds = ["unsubscribed", "unsubscribed", "hardBounced", "ispComplained"]
    for n in range(2400):
        dd.advance(dice.randint(1, 143))
        kind = kinds[n % len(kinds)]
        await suppress(dd, f"c{n}@example.com", kind)
        created[f"c{n}@example.com"] = STATUS_OF[kind]
    newest = wall(dd)
    dd.advance(45)

    restarted = poller(dd, outbox, cursors)
    caught_up = await restarted.poll_once()

    arrived = outbox.published[1:]
    new = [c for c in arrived if c.event_id != outbox.published[0].event_id]
    assert {(c.email, c.status) for c in new} == set(created.items())
    assert len(new) == len(created)
    # Only the row inside the overlap came again, under its event id.
    assert len(arrived) == len(new) + 1
    assert [c.occurred_at for c in arrived] == sorted(c.occurred_at for c in arrived)
    assert caught_up.checkpoint == newest
    assert cursors.saved[-1] == (
        CURSOR,
        {"checkpoint": newest.isoformat(), "saved_at": wall(dd).isoformat()},
    )
    # Both feeds were read in pages of 1,000 from the first checkpoint less the overlap.
    assert first.checkpoint == datetime(2026, 1, 1, tzinfo=UTC)
    since = "2025-12-31T23:50:00Z"
    assert skips(dd, "suppressed-since", since) == ["0", "1000", "2000"]
    assert skips(dd, "unsubscribed-since", since) == ["0", "1000"]

    saves = len(cursors.saved)
    again = await restarted.poll_once()
    assert (again.published, len(cursors.saved)) == (0, saves)
    # After a restart the overlap is read again: the same rows, the same event ids.
    before = {c.event_id for c in outbox.published}
    after_restart = await poller(dd, outbox, cursors).poll_once()
    assert 0 < after_restart.published < 20
    assert {c.event_id for c in outbox.published} == before


async def test_rows_read_again_in_the_overlap_keep_their_event_ids(dd: Dotdigital) -> None:
    cursors, outbox = MemoryCursors(), Outbox()
    await dd.set_status("old@example.com", "hardBounced")
    dd.advance(3600)
    await dd.client.unsubscribe("recent@example.com")
    dd.advance(60)
    await poller(dd, outbox, cursors).poll_once()
    first = {c.email: c.event_id for c in outbox.published}

    again = await poller(dd, outbox, cursors).poll_once()

    assert again.since == datetime(2026, 1, 1, 0, 50, tzinfo=UTC)  # 01:00 less the 600 s
    assert [(c.email, c.event_id) for c in outbox.published[2:]] == [
        ("recent@example.com", first["recent@example.com"])
    ]


async def test_the_first_poll_reads_every_suppression_ever(dd: Dotdigital) -> None:
    cursors, outbox = MemoryCursors(), Outbox()
    now = dd.time.wall
    dd.time.wall = datetime(2012, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()
    await dd.set_status("ancient@example.com", "ispComplained")
    dd.time.wall = now
    await dd.client.unsubscribe("today@example.com")

    polled = await poller(dd, outbox, cursors).poll_once()

    assert [(c.email, c.occurred_at) for c in outbox.published] == [
        ("ancient@example.com", datetime(2012, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("today@example.com", wall(dd)),
    ]
    assert polled.since == datetime(1970, 1, 1, tzinfo=UTC)
    assert skips(dd, "suppressed-since", "1970-01-01T00:00:00Z") == ["0"]


async def test_a_configured_first_poll_starts_where_it_says(dd: Dotdigital) -> None:
    cursors, outbox = MemoryCursors(), Outbox()
    await dd.set_status("before@example.com", "hardBounced")
    dd.advance(120)
    await dd.set_status("after@example.com", "hardBounced")

    start = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    await poller(dd, outbox, cursors, first_poll_since=start).poll_once()

    assert [c.email for c in outbox.published] == ["after@example.com"]


class BreakingNetwork(httpx.AsyncBaseTransport):
    """The sandbox's answers, with the feed rows of one address broken on the way."""

    def __init__(self, inner: httpx.AsyncBaseTransport, email: str) -> None:
        self._inner = inner
        self._email = email

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if "-since/" not in request.url.path or response.status_code != 200:
            return response
        rows = orjson.loads(await response.aread())
        for row in rows:
            if row["suppressedContact"]["email"] == self._email:
                row["dateRemoved"] = "last Tuesday"
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(200, headers=headers, content=orjson.dumps(rows))


async def test_an_unreadable_row_is_reported_once_and_skipped(dd: Dotdigital) -> None:
    cursors, outbox = MemoryCursors(), Outbox()
    client = dd.new_client(transport=BreakingNetwork(dd.network, "broken@example.com"))
    await dd.set_status("first@example.com", "hardBounced")
    dd.advance(5)
    await dd.client.unsubscribe("broken@example.com")  # in both feeds, reported once
    dd.advance(5)
    await dd.client.unsubscribe("last@example.com")
    polling = poller(dd, outbox, cursors, client=client)

    polled = await polling.poll_once()
    await polling.poll_once()

    assert [c.email for c in outbox.published] == ["first@example.com", "last@example.com"]
    [(row, problem)] = outbox.reported
    assert row["suppressedContact"]["email"] == "broken@example.com"
    assert problem.startswith("feed row not understood")
    assert (polled.unreadable, polled.checkpoint) == (1, wall(dd))
    await client.aclose()


async def test_a_failed_call_keeps_the_checkpoint_and_the_next_poll_delivers(
    dd: Dotdigital,
) -> None:
    cursors, outbox = MemoryCursors(), Outbox()
    polling = poller(dd, outbox, cursors)
    await dd.client.unsubscribe("one@example.com")
    await polling.poll_once()
    checkpoint = polling.checkpoint
    dd.advance(30)
    await dd.set_status("two@example.com", "hardBounced")
    await dd.faults(error_rate=1.0, error_status=503, error_body="html")

    wait = await polling.poll_round(30.0)

    assert wait == 30.0
    assert (polling.checkpoint, len(cursors.saved)) == (checkpoint, 1)
    assert [c.email for c in outbox.published] == ["one@example.com"]

    await dd.faults()
    await polling.poll_round(30.0)

    assert [c.email for c in outbox.published] == ["one@example.com", "two@example.com"]
    assert polling.checkpoint == wall(dd)


async def test_a_rate_limited_poll_waits_as_long_as_dotdigital_says(dd: Dotdigital) -> None:
    polling = poller(dd, Outbox(), MemoryCursors())
    await dd.faults(burst_429=1)

    wait = await polling.poll_round(1.0)

    assert wait > 1.0


class Stop(Exception):
    """Ends a `run` loop from its sleep."""


async def test_run_retries_a_failed_round_after_the_interval(dd: Dotdigital) -> None:
    cursors, outbox = MemoryCursors(), Outbox()
    polling = poller(dd, outbox, cursors)
    await dd.client.unsubscribe("one@example.com")
    await dd.faults(drop_connection_rate=1.0)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        dd.advance(seconds)
        if len(sleeps) == 1:
            await dd.faults()
        else:
            raise Stop

    with pytest.raises(Stop):
        await polling.run(30.0, sleep)

    assert sleeps == [30.0, 30.0]
    assert [c.email for c in outbox.published] == ["one@example.com"]


async def test_run_stops_on_a_fatal_error_without_moving_the_checkpoint(dd: Dotdigital) -> None:
    cursors, outbox = MemoryCursors(), Outbox()
    await dd.client.unsubscribe("one@example.com")
    polling = poller(dd, outbox, cursors, client=dd.new_client(password="wrong"))

    async def sleep(seconds: float) -> None:
        raise AssertionError("a fatal error must not be retried")

    with pytest.raises(FatalError):
        await polling.run(30.0, sleep)

    assert (outbox.published, cursors.saved, polling.checkpoint) == ([], [], None)


async def test_the_checkpoint_never_moves_backwards(dd: Dotdigital) -> None:
    cursors, outbox = MemoryCursors(), Outbox()
    polling = poller(dd, outbox, cursors)
    await dd.client.unsubscribe("one@example.com")
    dd.advance(10)
    await dd.client.unsubscribe("two@example.com")
    await polling.poll_once()
    newest = polling.checkpoint
    # The newest row leaves the feed: the contact came back.
    assert await dd.client.resubscribe("two@example.com", challenge=False) == "ContactAdded"
    dd.advance(10)

    polled = await polling.poll_once()

    assert (polled.checkpoint, len(cursors.saved)) == (newest, 1)


# --- the app task -------------------------------------------------------------------------------


class FakeApp:
    """The part of a Faust app the poller's task uses: a task decorator, leadership, crash."""

    def __init__(self) -> None:
        self.leader = False
        self.tasks: list[Any] = []
        self.crashed: list[BaseException] = []

    def task(self, fun: Any) -> Any:
        self.tasks.append(fun)
        return fun

    def is_leader(self) -> bool:
        return self.leader

    async def crash(self, exc: BaseException) -> None:
        self.crashed.append(exc)


def faust_parts() -> tuple[FakeApp, TopicSet, Incidents]:
    app = FakeApp()
    topics = TopicSet(**{f.name: RecordingTopic() for f in fields(TopicSet)})
    return app, topics, Incidents(topics.deadletter, topics.exceptions)


async def test_the_task_polls_only_while_its_worker_leads(dd: Dotdigital) -> None:
    app, topics, incidents = faust_parts()
    cursors = MemoryCursors()
    lines: list[Plug] = []  # each client's own line into the sandbox, to see it closed
    await dd.client.unsubscribe("ada@example.com")

    async def client_factory() -> DotdigitalClient:
        lines.append(dd.network.plug())
        return make_client(dd.config, lines[-1], dd.time)

    # Each sleep hands leadership on as scripted; the last one is the worker stopping.
    leadership = iter([True, False, True])
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        step = next(leadership, None)
        if step is None:
            raise asyncio.CancelledError
        app.leader = step

    settings = Settings(consent=ConsentSettings(poll_interval=5.0))
    task = register(
        app, topics, settings, incidents, Metrics(), client_factory, cursors=cursors, sleep=sleep
    )
    assert app.tasks == [task]
    with pytest.raises(asyncio.CancelledError):
        await task()

    assert sleeps == [5.0, 5.0, 5.0, 5.0]
    # Polled in rounds 2 and 4; leading again, the worker reloaded the checkpoint.
    sent = topics.consent_observed.sent
    assert [key for key, _ in sent] == [b"ada@example.com", b"ada@example.com"]
    assert len({orjson.loads(value)["event_id"] for _, value in sent}) == 1
    assert ConsentChanged.model_validate_json(sent[0][1]).status is ConsentStatus.UNSUBSCRIBED
    assert (cursors.loads, len(cursors.saved)) == (2, 1)
    assert len(lines) == 1
    assert lines[0].closed
    assert app.crashed == []


async def test_the_task_stops_the_worker_when_dotdigital_refuses_it(dd: Dotdigital) -> None:
    app, topics, incidents = faust_parts()
    app.leader = True
    client = dd.new_client(password="wrong")

    async def client_factory() -> DotdigitalClient:
        return client

    async def sleep(seconds: float) -> None:
        raise AssertionError("a fatal error must not be retried")

    task = register(
        app,
        topics,
        Settings(),
        incidents,
        Metrics(),
        client_factory,
        cursors=MemoryCursors(),
        sleep=sleep,
    )
    await task()

    [crash] = app.crashed
    assert isinstance(crash, FatalError)
    assert topics.consent_observed.sent == []


async def test_a_row_that_fails_unexpectedly_is_dead_lettered_and_the_poll_goes_on(
    dd: Dotdigital, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A row whose reading raises what no row should (here, a KeyError), as a feed changing
    # shape under us would: before, it stopped the poller's task for good.
    app, topics, incidents = faust_parts()
    app.leader = True

    def failing(row: Mapping[str, Any]) -> ConsentChanged:
        if row["suppressedContact"]["email"] == "broken@example.com":
            raise KeyError("suppressedContact.id of broken@example.com")
        return from_suppression(row)

    monkeypatch.setattr(suppression_feed, "from_suppression", failing)
    await dd.client.unsubscribe("broken@example.com")
    dd.advance(5)
    await dd.client.unsubscribe("ada@example.com")
    rounds = iter([None])

    async def sleep(seconds: float) -> None:
        if next(rounds, "stop") == "stop":
            raise asyncio.CancelledError

    async def client_factory() -> DotdigitalClient:
        return dd.client

    task = register(
        app,
        topics,
        Settings(),
        incidents,
        Metrics(),
        client_factory,
        cursors=MemoryCursors(),
        sleep=sleep,
    )
    with pytest.raises(asyncio.CancelledError):
        await task()

    published = [ConsentChanged.model_validate_json(v) for _, v in topics.consent_observed.sent]
    assert {change.email for change in published} == {"ada@example.com"}
    letters = [DeadLetter.model_validate_json(v) for _, v in topics.deadletter.sent]
    assert [letter.reason for letter in letters] == [Reason.PROCESSING_FAILED]  # once, not twice
    assert letters[0].source_topic == CURSOR
    assert letters[0].detail.startswith("processing failed: KeyError: ")
    assert "broken@example.com" not in letters[0].detail
    assert orjson.loads(letters[0].original())["suppressedContact"]["email"] == (
        "broken@example.com"
    )
    assert app.crashed == []


async def test_feed_rows_count_for_the_early_warnings_when_they_happened(dd: Dotdigital) -> None:
    cursors, outbox = MemoryCursors(), Outbox()
    metrics = Metrics(clock=dd.time.wall_clock)
    await dd.set_status("long.ago@example.com", "hardBounced")
    dd.advance(2 * 3600)
    await dd.set_status("bounced@example.com", "hardBounced")
    await dd.set_status("complained@example.com", "ispComplained")
    await dd.client.unsubscribe("left@example.com")
    dd.advance(60)
    polling = SuppressionPoller(
        dd.client,
        outbox.publish,
        cursors,
        overlap=600.0,
        first_poll_since=None,
        report=outbox.report,
        now=lambda: wall(dd),
        metrics=metrics,
    )

    await polling.poll_once()
    await polling.poll_once()  # the overlap reads them again: not counted twice

    # The first read of the whole history is no surge: the old bounce is two hours old.
    assert metrics.recent.last_hour("suppressions") == 3
    assert metrics.recent.last_hour("hard_bounces") == 1
    assert metrics.feed_read_at == dd.time.wall
