"""The Commerce write-back against the real Commerce sandbox over HTTP, and its Faust agent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import httpx
import orjson
import pytest
from faust.types import TP

from connectors.commerce.client import CommerceClient
from connectors.errors import FatalError
from sandbox.commerce.model.customers import UNSUBSCRIBED
from sandbox.commerce.simulator.events import SUBSCRIBER_SAVED
from sandbox.commerce.simulator.store import Store
from schemas.commerce.writeback import CommerceUnsubscribe
from schemas.contract.incidents import DeadLetter, Reason, SyncException
from schemas.contract.topics import COMMERCE_WRITES
from streams.process.contact_book import ContactBook
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.sinks.commerce import write_back as writeback
from streams.sinks.commerce.write_back import PROPAGATION, WRITES, WriteBack
from streams.sinks.consent_gate import ConsentLookup
from tests.support.accounts import CLIENT_ID
from tests.support.commerce import SHOP_URL, Commerce, bearer, commerce_sandbox
from tests.support.network import Plug, SandboxNetwork
from tests.support.topic import RecordingTopic

ADA = "ada@example.com"
OPTED_OUT_AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
UNKNOWN_CUSTOMER = 424_242


def store() -> Store:
    shop = Store(seed=5, client_id=CLIENT_ID)
    shop.register(ADA, "Ada", "Lovelace", subscribe=True)
    shop.register("alan@example.com", "Alan", "Turing", subscribe=True)
    return shop


@pytest.fixture
async def commerce() -> AsyncIterator[Commerce]:
    async with commerce_sandbox(store()) as running:
        yield running


def customer_id(commerce: Commerce, email: str = ADA) -> int:
    found = commerce.store.find_customer(email)
    assert found is not None
    return found.id


def opt_out(customer: int, email: str = ADA) -> CommerceUnsubscribe:
    return CommerceUnsubscribe(
        email=email,
        customer_id=customer,
        reason="Unsubscribed",
        consent_event_id="consent-1",
        occurred_at=OPTED_OUT_AT,
        issued_at=OPTED_OUT_AT + timedelta(seconds=1),
    )


class Sleeps:
    """A sleep that only notes how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def shop_client(
    commerce: Commerce,
    *,
    token: str | None = None,
    attempts: int = 5,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CommerceClient:
    """A client of the sandbox shop with the integration's token (or another, to be refused),
    over the shop's network (or another line into it)."""
    return CommerceClient(
        SHOP_URL,
        auth=bearer(commerce.credentials, token),
        transport=transport or commerce.network,
        clock=commerce.time.clock,
        wall_clock=commerce.time.wall_clock,
        sleep=commerce.time.sleep,
        attempts=attempts,
    )


def write_back(
    client: CommerceClient, metrics: Metrics, *, after: float = 1.0, sleep: Sleeps | None = None
) -> WriteBack:
    """A write-back whose clock reads `after` seconds past the opt-out."""
    return WriteBack(
        client,
        sleep=sleep or Sleeps(),
        now=lambda: OPTED_OUT_AT + timedelta(seconds=after),
        metrics=metrics,
    )


def subscriber_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"]["value"] for e in events if e["type"] == SUBSCRIBER_SAVED]


# --- WriteBack -----------------------------------------------------------------------------------


async def test_an_opt_out_unsubscribes_the_registered_customer_in_commerce(
    commerce: Commerce,
) -> None:
    ada = customer_id(commerce)
    seen = len(commerce.store.events)

    refusal = await write_back(commerce.client, Metrics()).apply(opt_out(ada))

    assert refusal is None
    read = await commerce.client.customer(ada)
    assert read is not None and read["extension_attributes"]["is_subscribed"] is False
    changes = subscriber_events(commerce.store.events[seen:])
    assert [(c["subscriber_email"], c["subscriber_status"]) for c in changes] == [
        (ADA, str(UNSUBSCRIBED))
    ]
    alan = commerce.store.find_customer("alan@example.com")
    assert alan is not None and commerce.store.is_subscribed(alan)


async def test_the_same_opt_out_applied_again_changes_nothing_in_commerce(
    commerce: Commerce,
) -> None:
    ada = customer_id(commerce)
    back = write_back(commerce.client, Metrics())
    await back.apply(opt_out(ada))
    seen, sent = len(commerce.store.events), len(commerce.network.exchanges)

    refusal = await back.apply(opt_out(ada))

    assert refusal is None
    assert commerce.store.events[seen:] == []  # no subscriber event, not even a customer save
    assert [e.method for e in commerce.network.exchanges[sent:]] == ["GET"]
    assert commerce.store.subscribers[ADA].status == UNSUBSCRIBED


async def test_the_propagation_time_runs_from_the_opt_out_in_dotdigital_to_commerce(
    commerce: Commerce,
) -> None:
    metrics = Metrics()

    await write_back(commerce.client, metrics, after=42.5).apply(opt_out(customer_id(commerce)))

    snapshot = metrics.snapshot()
    assert snapshot["latencies"] == {
        PROPAGATION: {"count": 1, "p50": 42.5, "p95": 42.5, "max": 42.5}
    }
    assert snapshot["counts"] == {WRITES: 1}


async def test_an_opt_out_time_without_a_zone_is_taken_as_utc(commerce: Commerce) -> None:
    metrics = Metrics()
    command = opt_out(customer_id(commerce)).model_copy(
        update={"occurred_at": OPTED_OUT_AT.replace(tzinfo=None)}
    )

    await write_back(commerce.client, metrics, after=7.0).apply(command)

    assert metrics.snapshot()["latencies"] == {
        PROPAGATION: {"count": 1, "p50": 7.0, "p95": 7.0, "max": 7.0}
    }


async def test_an_unknown_customer_is_refused_in_words_naming_the_customer(
    commerce: Commerce,
) -> None:
    metrics = Metrics()

    refusal = await write_back(commerce.client, metrics).apply(opt_out(UNKNOWN_CUSTOMER))

    assert refusal is not None
    assert refusal.startswith(f"customer {UNKNOWN_CUSTOMER}: Commerce answered 404")
    assert [e.method for e in commerce.network.exchanges] == ["GET"]
    assert metrics.snapshot()["latencies"] == {} and metrics.snapshot()["counts"] == {}


async def test_throttled_calls_are_retried_after_their_retry_after_without_waiting(
    commerce: Commerce,
) -> None:
    # A client that retries nothing itself, so every 429 reaches the write-back's own retries.
    # With seed 7 the dice first roll 0.32 and 0.15: at least two 429s.
    await commerce.faults(rest_429_rate=0.5, seed=7)
    sleep = Sleeps()
    ada = customer_id(commerce)

    async with shop_client(commerce, attempts=1) as client:
        refusal = await write_back(client, Metrics(), sleep=sleep).apply(opt_out(ada))

    throttled = [e for e in commerce.network.exchanges if e.status == 429]
    assert refusal is None
    assert len(throttled) >= 2
    assert sleep.waits == [1.0] * len(throttled)  # the sandbox's Retry-After: 1
    assert commerce.time.sleeps == []
    assert commerce.store.subscribers[ADA].status == UNSUBSCRIBED


async def test_a_refused_integration_is_fatal_and_not_retried(commerce: Commerce) -> None:
    sleep = Sleeps()
    async with shop_client(commerce, token="not-the-token") as client:
        with pytest.raises(FatalError):
            await write_back(client, Metrics(), sleep=sleep).apply(opt_out(customer_id(commerce)))

    assert sleep.waits == []
    assert [e.status for e in commerce.network.exchanges] == [401]


async def test_logs_show_the_email_masked_never_in_full(
    commerce: Commerce, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    back = write_back(commerce.client, Metrics())

    await back.apply(opt_out(customer_id(commerce)))
    await back.apply(opt_out(UNKNOWN_CUSTOMER))

    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert ADA not in logged
    assert logged.count("a***@example.com") >= 2


# --- the agent -----------------------------------------------------------------------------------


class Acks(faust.Sensor):
    """Offsets the agent acknowledged, as Faust's sensors hear of them."""

    def __init__(self) -> None:
        super().__init__()
        self.offsets: list[int] = []
        self._acked = asyncio.Event()

    def on_stream_event_out(
        self, tp: TP, offset: int, stream: Any, event: Any, state: dict[Any, Any] | None = None
    ) -> None:
        self.offsets.append(offset)
        self._acked.set()

    async def of(self, event: Any) -> None:
        """Return once `event` is acknowledged; fail after ten seconds."""
        try:
            async with asyncio.timeout(10.0):
                while event.message.offset not in self.offsets:
                    self._acked.clear()
                    await self._acked.wait()
        except TimeoutError:
            raise AssertionError(f"offset {event.message.offset} never acknowledged") from None


class Worker:
    """A Faust app with the write-back agent on it, its incidents recorded."""

    def __init__(
        self,
        network: SandboxNetwork,
        client: Callable[[httpx.AsyncBaseTransport], CommerceClient],
        consent_of: ConsentLookup | None = None,
    ) -> None:
        self.app = faust.App("writeback-test", broker="kafka://127.0.0.1:1", store="memory://")
        self.deadletter = RecordingTopic()
        self.exceptions = RecordingTopic()
        self.metrics = Metrics()
        self.acks = Acks()
        self.app.sensors.add(self.acks)
        self.lines: list[Plug] = []  # each client's own line into the shop, to see it closed

        async def client_factory() -> CommerceClient:
            self.lines.append(network.plug())
            return client(self.lines[-1])

        topic = self.app.topic(
            COMMERCE_WRITES,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )
        self.agent = writeback.register(
            self.app,
            topic,
            Incidents(self.deadletter, self.exceptions),
            self.metrics,
            client_factory,
            consent_of,
        )

    def dead_letters(self) -> list[DeadLetter]:
        return [DeadLetter.model_validate_json(value) for _, value in self.deadletter.sent]

    def exception_records(self) -> list[SyncException]:
        return [SyncException.model_validate_json(value) for _, value in self.exceptions.sent]


async def stopped(app: Any) -> None:
    """Return once the worker stopped or crashed; fail after ten seconds."""
    try:
        async with asyncio.timeout(10.0):
            await app.wait_until_stopped()
    except TimeoutError:
        raise AssertionError("the worker never stopped") from None


def encoded(command: CommerceUnsubscribe) -> bytes:
    return orjson.dumps(command.model_dump(mode="json"))


async def test_the_agent_acknowledges_a_command_once_commerce_has_it(commerce: Commerce) -> None:
    worker = Worker(commerce.network, lambda line: shop_client(commerce, transport=line))

    async with worker.agent.test_context() as agent:
        event = await agent.put(encoded(opt_out(customer_id(commerce))), key=ADA.encode())
        await worker.acks.of(event)

    assert commerce.store.subscribers[ADA].status == UNSUBSCRIBED
    assert worker.metrics.counts[WRITES] == 1
    assert worker.deadletter.sent == []
    assert [line.closed for line in worker.lines] == [True]  # closed as the agent stopped


async def test_the_agent_dead_letters_a_refused_opt_out_then_acknowledges_it(
    commerce: Commerce,
) -> None:
    worker = Worker(commerce.network, lambda line: shop_client(commerce, transport=line))
    command = encoded(opt_out(UNKNOWN_CUSTOMER))

    async with worker.agent.test_context() as agent:
        event = await agent.put(command, key=ADA.encode())
        await worker.acks.of(event)

    [letter] = worker.dead_letters()
    [record] = worker.exception_records()
    assert letter.reason is Reason.COMMERCE_REJECTED
    assert letter.original() == command
    assert (letter.source_topic, letter.key) == (COMMERCE_WRITES, ADA)
    assert f"customer {UNKNOWN_CUSTOMER}" in letter.detail
    assert (record.reason, record.email, record.event_id) == (
        Reason.COMMERCE_REJECTED,
        ADA,
        "consent-1",
    )
    assert worker.metrics.counts[WRITES] == 0


async def test_the_agent_dead_letters_an_undecodable_command_then_acknowledges_it(
    commerce: Commerce,
) -> None:
    worker = Worker(commerce.network, lambda line: shop_client(commerce, transport=line))

    async with worker.agent.test_context() as agent:
        event = await agent.put(b'{"email": "ada@example.com"}', key=ADA.encode())
        await worker.acks.of(event)

    [letter] = worker.dead_letters()
    assert letter.reason is Reason.INVALID_PAYLOAD
    assert letter.original() == b'{"email": "ada@example.com"}'
    assert commerce.network.exchanges == []


async def test_the_agent_stops_the_worker_on_a_fatal_error_without_acknowledging(
    commerce: Commerce,
) -> None:
    worker = Worker(
        commerce.network, lambda line: shop_client(commerce, token="not-the-token", transport=line)
    )

    async with worker.agent.test_context() as agent:
        event = await agent.put(encoded(opt_out(customer_id(commerce))), key=ADA.encode())
        await stopped(worker.app)

    assert isinstance(worker.app.crash_reason, FatalError)
    assert not event.message.acked and worker.acks.offsets == []
    assert [line.closed for line in worker.lines] == [True]
    assert worker.deadletter.sent == []
    assert commerce.store.subscribers[ADA].status != UNSUBSCRIBED


async def test_the_agent_dead_letters_a_command_it_cannot_process_and_goes_on(
    commerce: Commerce,
) -> None:
    # The join's contacts table holds an entry for Ada no version of Cartwright reads: the gate
    # cannot say whether she opted in since. That used to stop the agent; now only her command
    # is dead-lettered, acknowledged, and Alan's is written.
    contacts = ContactBook({ADA.encode(): b'{"email": 5}'}, {})
    worker = Worker(
        commerce.network, lambda line: shop_client(commerce, transport=line), contacts.consent_of
    )
    alan = "alan@example.com"
    ada_command = encoded(opt_out(customer_id(commerce)))

    async with worker.agent.test_context() as agent:
        first = await agent.put(ada_command, key=ADA.encode())
        second = await agent.put(
            encoded(opt_out(customer_id(commerce, alan), alan)), key=alan.encode()
        )
        await worker.acks.of(first)
        await worker.acks.of(second)

    [letter] = worker.dead_letters()
    [record] = worker.exception_records()
    assert letter.reason is Reason.PROCESSING_FAILED
    assert letter.original() == ada_command
    assert (letter.source_topic, letter.key) == (COMMERCE_WRITES, ADA)
    assert letter.detail.startswith("processing failed: ValidationError: ")
    assert record.reason is Reason.PROCESSING_FAILED
    assert commerce.store.subscribers[alan].status == UNSUBSCRIBED
    assert commerce.store.subscribers[ADA].status != UNSUBSCRIBED
    assert worker.app.crash_reason is None
