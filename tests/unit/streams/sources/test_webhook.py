"""The webhook over a real HTTP server: what it refuses unread, bounded, or whole, and what it stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from pydantic import ValidationError

from connectors.adobe_io.signature import PublicKeyCache
from sandbox.commerce.adobe_io.signing import Signer
from schemas.contract.incidents import Reason
from streams.runtime.incidents import Incidents
from streams.runtime.metrics import Metrics
from streams.settings import WebhookSettings
from streams.sources.deliveries import Window
from streams.sources.raw_publisher import RawPublisher
from streams.sources.seeding import Seeding, Tail
from streams.sources.webhook import PATH, Ingest, receive, server_options
from tests.support.topic import RecordingTopic
from tests.unit.streams.sources.test_deliveries import AT, CLIENT_ID, order_event

KEY_HOST = "http://keys.test"
SIGNER = Signer()  # RSA keys take a while to make: one pair for the module


@dataclass(frozen=True)
class Stored:
    partition: int
    offset: int


class RawTopic:
    """The raw topic's `send`: kept in order, acknowledged at once with an offset."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []

    async def send(
        self, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> asyncio.Future[Stored]:
        self.sent.append((key, value))
        done: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        done.set_result(Stored(0, len(self.sent) - 1))
        return done


@dataclass
class Webhook:
    url: str
    port: int
    signer: Signer
    ingest: Ingest
    raw: RawTopic
    deadletter: RecordingTopic

    def signed(self, body: bytes, *, forged: bool = False) -> dict[str, str]:
        return self.signer.headers(body, "evt", forged=forged)

    async def post(self, payload: Any, *, forged: bool = False) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(
                self.url, content=body, headers=self.signed(body, forged=forged)
            )

    def dead_letters(self) -> list[dict[str, Any]]:
        return [orjson.loads(value) for _, value in self.deadletter.sent]

    async def raw_request(self, head: bytes, body: bytes = b"") -> asyncio.StreamWriter:
        """Send a request head (and part of a body) and leave the connection open."""
        _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(head + b"\r\n" + body)
        await writer.drain()
        return writer

    async def answer_to(self, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
        """The status and body of the answer to a request that never sends all of its body."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(head + b"\r\n" + body)
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), timeout=5)
            rest = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            length = next(
                int(line.split(b":")[1])
                for line in rest.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            return int(status_line.split()[1]), await reader.readexactly(length)
        finally:
            writer.close()


def head(length: int | None, headers: dict[str, str], *, chunked: bool = False) -> bytes:
    lines = [f"POST {PATH} HTTP/1.1", "Host: 127.0.0.1"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    return ("\r\n".join(lines) + "\r\n").encode()


Factory = Callable[..., Awaitable[Webhook]]


async def until(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Poll `check` while the server (in this same loop) works, up to a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.01)  # hands the loop to the server; bounded by the deadline
    return check()


@pytest.fixture
async def webhook() -> AsyncIterator[Factory]:
    runners: list[web.AppRunner] = []
    caches: list[PublicKeyCache] = []

    async def start(seeding: Seeding | None = None, **bounds: Any) -> Webhook:
        signer = SIGNER

        def serve_key(request: httpx.Request) -> httpx.Response:
            pem = signer.public_pem(request.url.path)
            return httpx.Response(200, content=pem) if pem else httpx.Response(404)

        keys = PublicKeyCache(KEY_HOST, transport=httpx.MockTransport(serve_key))
        caches.append(keys)
        raw, deadletter = RawTopic(), RecordingTopic()
        defaults: dict[str, Any] = {"max_events": 3, "max_body_bytes": 64 * 1024}
        ingest = Ingest(
            publisher=RawPublisher(raw, Incidents(deadletter, RecordingTopic()), Metrics()),
            keys=keys,
            client_id=CLIENT_ID,
            metrics=Metrics(),
            bounds=WebhookSettings(**{**defaults, **bounds}),
            window=Window(timedelta(days=7), timedelta(hours=1), now=lambda: AT),
            seeding=seeding,
        )

        async def handle(request: web.Request) -> web.Response:
            answer = await receive(ingest, request)
            return web.json_response(answer.body, status=answer.status, headers=answer.headers)

        app = web.Application()
        app.router.add_post(PATH, handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return Webhook(f"http://127.0.0.1:{port}{PATH}", port, signer, ingest, raw, deadletter)

    yield start
    for runner in runners:
        await runner.cleanup()
    for keys in caches:
        await keys.aclose()


async def test_a_signed_delivery_is_stored_and_counted(webhook: Factory) -> None:
    hook = await webhook()
    events = [order_event(1), order_event(2)]

    response = await hook.post(events)

    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0, "dead_lettered": 0}
    assert [orjson.loads(value) for _, value in hook.raw.sent] == events


async def test_without_signature_headers_the_body_is_not_read(webhook: Factory) -> None:
    hook = await webhook()

    # Declares a megabyte, sends ten bytes: the answer comes without waiting for the rest.
    status, body = await hook.answer_to(head(1_000_000, {}), b"0123456789")

    assert status == 401
    assert b"signature" in body
    assert hook.raw.sent == []


async def test_a_declared_length_over_the_cap_is_refused_unread(webhook: Factory) -> None:
    hook = await webhook()

    status, _ = await hook.answer_to(head(10**9, hook.signed(b"")), b"[")

    assert status == 413


async def test_a_chunked_body_growing_past_the_cap_is_refused(webhook: Factory) -> None:
    hook = await webhook(max_body_bytes=4096)
    chunk = b"1000\r\n" + b" " * 4096 + b"\r\n"  # one 4 KiB chunk, then one more byte

    status, _ = await hook.answer_to(head(None, hook.signed(b""), chunked=True), chunk + b"1\r\n ")

    assert status == 413


async def test_a_body_that_stops_arriving_gets_408(webhook: Factory) -> None:
    hook = await webhook(read_timeout=0.1)

    status, _ = await hook.answer_to(head(100, hook.signed(b"")), b"[")

    assert status == 408
    assert hook.ingest.gate.free == hook.ingest.bounds.max_concurrent


async def test_one_delivery_over_the_concurrency_cap_gets_429_with_retry_after(
    webhook: Factory,
) -> None:
    hook = await webhook(max_concurrent=1, read_timeout=30)
    slow = await hook.raw_request(head(100, hook.signed(b"")), b"[")
    assert await until(lambda: hook.ingest.gate.free == 0)

    try:
        response = await hook.post([order_event(1)])
    finally:
        slow.close()

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert hook.raw.sent == []


async def test_a_client_leaving_mid_body_gives_its_slot_back(webhook: Factory) -> None:
    hook = await webhook(max_concurrent=1, read_timeout=30)
    slow = await hook.raw_request(head(100, hook.signed(b"")), b"[")
    assert await until(lambda: hook.ingest.gate.free == 0)

    slow.close()
    assert await until(lambda: hook.ingest.gate.free == 1)

    assert (await hook.post([order_event(1)])).status_code == 200


async def test_a_body_cut_short_ends_the_request_quietly(
    webhook: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    hook = await webhook()
    reader, writer = await asyncio.open_connection("127.0.0.1", hook.port)
    writer.write(head(100, hook.signed(b"")) + b"\r\n[")
    writer.write_eof()

    closed = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()

    assert closed == b""  # aiohttp drops a connection whose body ended early
    assert await until(lambda: hook.ingest.metrics.counts["webhook.refused_400"] == 1)
    assert hook.ingest.gate.free == hook.ingest.bounds.max_concurrent
    assert "Error handling request" not in caplog.text


async def test_a_bad_signature_is_read_then_refused(webhook: Factory) -> None:
    hook = await webhook()

    response = await hook.post([order_event(1)], forged=True)

    assert response.status_code == 401
    assert hook.raw.sent == []


async def test_more_events_than_the_cap_get_413_and_one_dead_letter(webhook: Factory) -> None:
    hook = await webhook(max_events=3)

    response = await hook.post([order_event(n) for n in range(1, 5)])

    assert response.status_code == 413
    assert hook.raw.sent == []
    [letter] = hook.dead_letters()
    assert letter["reason"] == Reason.DELIVERY_TOO_LARGE.value


@pytest.mark.parametrize(
    "change",
    [
        {"recipientclientid": None},
        {"recipientclientid": ""},
        {"recipientclientid": "someone-else"},
        {"recipientclientid": None, "recipient_client_id": "someone-else"},
        {"recipient_client_id": "someone-else"},
    ],
)
async def test_a_missing_or_foreign_recipient_gets_403_and_nothing_is_stored(
    webhook: Factory, change: dict[str, Any]
) -> None:
    hook = await webhook()
    odd = {**order_event(2), **change}

    response = await hook.post([order_event(1), odd])

    assert response.status_code == 403
    assert hook.raw.sent == []
    assert hook.deadletter.sent == []


async def test_events_that_cannot_be_stored_are_dead_lettered_and_answered_200(
    webhook: Factory,
) -> None:
    hook = await webhook(max_events=10)
    old = order_event(2, time=(AT - timedelta(days=8)).isoformat())
    blank = order_event(3, eventid="", event_id="", id=" ")

    response = await hook.post([order_event(1), old, blank, 17])

    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "dead_lettered": 3}
    assert [letter["reason"] for letter in hook.dead_letters()] == [
        Reason.EVENT_OUT_OF_WINDOW.value,
        Reason.INVALID_ENVELOPE.value,
        Reason.INVALID_ENVELOPE.value,
    ]


async def test_non_finite_and_giant_numbers_never_give_5xx(webhook: Factory) -> None:
    hook = await webhook(max_events=10)
    events = []
    for n, number in enumerate(["NaN", "Infinity", "-Infinity", "1e5000", "9" * 30]):
        event = order_event(n + 1, eventid=f"evt-{n}")
        event["data"]["value"]["entity_id"] = number
        event["data"]["value"]["grand_total"] = number
        events.append(event)
    bodies = [
        orjson.dumps(events),
        b'{"id": NaN, "type": "t"}',
        b'[{"id": "x", "type": "t", "eventid": 1e5000}]',
        b'{"type": "t", "eventid": 123456789012345678901234567890123, '
        b'"recipientclientid": "' + CLIENT_ID.encode() + b'"}',
    ]

    statuses = [(await hook.post(body)).status_code for body in bodies]

    assert statuses == [200, 200, 200, 200]
    assert len(hook.raw.sent) == 6


async def test_a_delivery_waits_for_the_seed_and_then_knows_stored_ids(
    webhook: Factory,
) -> None:
    event = order_event(1)
    release = asyncio.Event()

    async def load() -> Tail:
        await release.wait()
        return Tail([event["eventid"]], {0: 1})

    hook = await webhook()
    seeding = Seeding(load, hook.ingest.publisher.already_stored, Metrics(), wait=5)
    hook.ingest.seeding = seeding
    seeder = asyncio.create_task(seeding.run())
    posted = asyncio.create_task(hook.post(event))
    release.set()

    response = await posted
    await seeder

    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 1, "dead_lettered": 0}


async def test_a_delivery_gets_503_when_the_seed_does_not_come_in_time(
    webhook: Factory,
) -> None:
    async def never() -> Tail:
        await asyncio.Event().wait()
        return Tail([], {})

    hook = await webhook()
    hook.ingest.seeding = Seeding(never, hook.ingest.publisher.already_stored, Metrics(), wait=0.05)

    response = await hook.post(order_event(1))

    assert response.status_code == 503
    assert hook.raw.sent == []
    assert hook.ingest.gate.free == hook.ingest.bounds.max_concurrent


@pytest.mark.parametrize(
    ("written", "meant"),
    [("604800", timedelta(days=7)), ("P7D", timedelta(days=7)), ("PT1H", timedelta(hours=1))],
)
def test_the_event_window_is_set_in_seconds_or_iso_durations(
    written: str, meant: timedelta
) -> None:
    bounds = WebhookSettings.model_validate({"max_event_age": written, "max_event_lead": written})

    assert bounds.max_event_age == bounds.max_event_lead == meant


@pytest.mark.parametrize("written", ["-5", "1e400", "nan", "a week"])
def test_an_event_window_that_is_no_length_of_time_is_refused(written: str) -> None:
    with pytest.raises(ValidationError):
        WebhookSettings.model_validate({"max_event_age": written})


def test_the_server_closes_connections_without_a_complete_request() -> None:
    options = server_options(WebhookSettings(idle_timeout=3.0, max_body_bytes=2048))

    assert options == {"client_max_size": 2048, "handler_args": {"keepalive_timeout": 3.0}}
