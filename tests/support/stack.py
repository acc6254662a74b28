"""The real stack of the end-to-end tests: broker, sandboxes and a worker as processes, and probes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition

from sandbox.broker import EmbeddedBroker
from sandbox.commerce.adobe_io.delivery import Deliverer
from sandbox.commerce.adobe_io.signing import Signer
from sandbox.commerce.api.config import CommerceSandboxConfig
from sandbox.commerce.api.server import build_app, sandbox_of
from sandbox.commerce.simulator.clock import SimulatedClock
from sandbox.commerce.simulator.store import Store
from tests.support.accounts import CLIENT_ID, COMMERCE_TOKEN, DD_PASSWORD, DD_USER
from tests.support.admin import admin_blocking

T = TypeVar("T")

# The Dotdigital programs the session's worker enrols into (see tests/integration/conftest.py).
ORDER_FULFILLED_PROGRAM = 1
FIRST_ORDER_PROGRAM = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def eventually(check: Callable[[], T | None], *, timeout: float = 60.0, what: str = "") -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)  # polling an outside process with a deadline, not waiting on time
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or check}: {last!r}")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def start_cli(name: str, args: list[str], env: dict[str, str], logs: Path) -> Process:
    log = logs / f"{name}.log"
    popen = subprocess.Popen(
        [sys.executable, "-m", "streams", *args],
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Process(name, popen, log)


class Commerce:
    """The Commerce sandbox in a thread of this process: Adobe's key host, the store's REST API,
    and signed deliveries of the store's events to the worker. Its store keeps real time."""

    def __init__(self, base_url: str, loop: asyncio.AbstractEventLoop, app: web.Application):
        self.base_url = base_url
        self._loop = loop
        self._sandbox = sandbox_of(app)
        self.api = httpx.Client(
            base_url=f"{base_url}/rest/default/V1",
            headers={"Authorization": f"Bearer {COMMERCE_TOKEN}"},
            timeout=10,
        )

    def act(self, change: Callable[[Store], T]) -> T:
        """Run `change(store)` on the sandbox's loop, at the current time; its events go out."""

        async def run() -> T:
            self._sandbox.store.clock.advance_to(datetime.now(UTC))
            return change(self._sandbox.store)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def customer(self, customer_id: int) -> dict[str, Any]:
        response = self.api.get(f"/customers/{customer_id}")
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def delivered(self) -> int:
        return int(httpx.get(f"{self.base_url}/_sandbox/status", timeout=5).json()["delivered"])


@contextmanager
def served(app: web.Application) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """`app` served on loopback from a thread of this process: its base URL and its loop."""
    loop = asyncio.new_event_loop()
    port = free_port()
    runner = web.AppRunner(app)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(timeout=10), "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}", loop
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


@contextmanager
def commerce_sandbox(signer: Signer, webhook: str | None = None) -> Iterator[Commerce]:
    """The Commerce sandbox in a thread of this process, so tests can sign with its keys and
    change its store; with `webhook`, the store's events are delivered there (no traffic)."""
    config = CommerceSandboxConfig(client_id=CLIENT_ID, webhook_url=webhook, run_traffic=False)
    store = Store(
        seed=free_port(),
        clock=SimulatedClock(datetime.now(UTC)),
        client_id=CLIENT_ID,
        keep_events=False,
    )
    app = build_app(config, signer, store=store)
    with served(app) as (url, loop):
        yield Commerce(url, loop, app)


class Dotdigital:
    """Reads the sandbox through the same API a real account has."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.api = httpx.Client(base_url=base_url, auth=(DD_USER, DD_PASSWORD), timeout=10)

    def contact(self, email: str) -> dict[str, Any] | None:
        response = self.api.get(f"/contacts/v3/email/{email}")
        return response.json() if response.status_code == 200 else None

    def record(self, email: str, collection: str, key: str) -> dict[str, Any] | None:
        response = self.api.get(f"/insightData/v3/contacts/email/{email}/{collection}/{key}")
        return response.json() if response.status_code == 200 else None

    def records(self, email: str, collection: str) -> list[dict[str, Any]]:
        """The contact's records; empty while the sandbox answers with an injected fault."""
        try:
            response = self.api.get(f"/insightData/v3/contacts/email/{email}/{collection}")
        except httpx.TransportError:
            return []
        if response.status_code != 200:
            return []
        items: list[dict[str, Any]] = response.json()["_items"]
        return items

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return admin_blocking(self.api, path, body)


@dataclass
class Stack:
    """Everything a test talks to."""

    bootstrap: str
    worker_url: str
    webhook: str
    dotdigital: Dotdigital
    signer: Signer
    processes: list[Process]
    commerce: Commerce
    broker_pid: int | None = None
    env: dict[str, str] = field(default_factory=dict)  # the worker's, to start another like it

    def deliver(
        self, payload: Any, *, forged: bool = False, webhook: str | None = None
    ) -> httpx.Response:
        """POST one delivery, signed as Adobe signs it (or with unpublished keys), to the stack's
        webhook or another worker's."""
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        first = payload[0] if isinstance(payload, list) else payload
        event_id = str(first.get("eventid", "")) if isinstance(first, dict) else ""
        headers = self.signer.headers(body, event_id, forged=forged)
        return httpx.post(webhook or self.webhook, content=body, headers=headers, timeout=15)

    def logs(self) -> str:
        return "\n\n".join(f"--- {p.name} ---\n{p.tail()}" for p in self.processes)


async def _read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[list[dict[str, Any]]], bool],
    seconds: float,
    quiet: float | None = None,
    decode: Callable[[bytes], Any] = orjson.loads,
) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: list[dict[str, Any]] = []
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer.topics()
            partitions = consumer.partitions_for_topic(topic) or set()
        assignment = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assignment)
        await consumer.seek_to_beginning(*assignment)
        deadline = time.monotonic() + seconds
        last_news = time.monotonic()
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            if any(batches.values()):
                last_news = time.monotonic()
            elif quiet is not None and time.monotonic() - last_news >= quiet:
                return seen
            for records in batches.values():
                for record in records:
                    seen.append(
                        {
                            "key": record.key.decode() if record.key else None,
                            "value": decode(record.value),
                            "partition": record.partition,
                            "offset": record.offset,
                        }
                    )
            if until(seen):
                return seen
    finally:
        await consumer.stop()
    raise AssertionError(f"{topic}: condition not met in {seconds:.0f} s; read {len(seen)} records")


def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    """Every record of `topic` from the beginning, read until `until(records)` holds."""
    return asyncio.run(_read_topic(bootstrap, topic, until, timeout))


def read_all(
    bootstrap: str,
    topic: str,
    quiet: float = 2.0,
    decode: Callable[[bytes], Any] = orjson.loads,
) -> list[dict[str, Any]]:
    """Every record of `topic` from the beginning, until nothing new came for `quiet` seconds;
    values are decoded by `decode` (`bytes` keeps them as they were stored).

    (Tansu's end offsets are unreliable, so "everything" means "until the topic goes quiet".)
    """
    return asyncio.run(_read_topic(bootstrap, topic, lambda _: False, 60.0, quiet, decode))


def accepted(response: httpx.Response) -> dict[str, Any]:
    """The worker's answer to a delivery, which must be a 200."""
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def enrolments_of(stack: Stack, email: str) -> list[int]:
    """The programs the contact of `email` is enrolled in, sorted."""
    contact = stack.dotdigital.contact(email)
    if contact is None:
        return []
    found: list[int] = []
    for enrolment in stack.dotdigital.admin("enrolments")["enrolments"]:
        if contact["contactId"] in enrolment["contacts"]:
            found.append(enrolment["programId"])
    return sorted(found)


def with_programs(stack: Stack) -> Stack:
    """`stack`, its Dotdigital account's two post-purchase programs made active."""
    programs = {str(ORDER_FULFILLED_PROGRAM): True, str(FIRST_ORDER_PROGRAM): True}
    stack.dotdigital.admin("programs", {"programs": programs})
    return stack


def deliverer_for(stack: Stack) -> Deliverer:
    return Deliverer(stack.webhook, stack.signer)


def base_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARTWRIGHT_")}
    env.update(
        {
            "CARTWRIGHT_DOTDIGITAL__USERNAME": DD_USER,
            "CARTWRIGHT_DOTDIGITAL__PASSWORD": DD_PASSWORD,
            "CARTWRIGHT_ADOBE__CLIENT_ID": CLIENT_ID,
            "CARTWRIGHT_LOG_LEVEL": "info",
        }
    )
    env.update(overrides)
    return env


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _assigned(url: str) -> bool:
    try:
        status = httpx.get(url, timeout=1).json()
    except (httpx.HTTPError, ValueError):
        return False
    return bool(status.get("assigned"))


def start_worker(
    stack: Stack, logs: Path, name: str = "worker", *, web_port: int | None = None
) -> Process:
    """Another worker like the stack's own (after a kill, say), once it holds its partitions;
    the stack stops it with the rest. With `web_port` it is one more worker in the group, with
    its own webhook and ops pages at `worker_url(web_port)`."""
    env = stack.env if web_port is None else {**stack.env, "CARTWRIGHT_WEB__PORT": str(web_port)}
    url = stack.worker_url if web_port is None else worker_url(web_port)
    worker = start_cli(name, ["worker"], env, logs)
    stack.processes.append(worker)
    eventually(lambda: _assigned(f"{url}/ops/status"), what=name, timeout=90)
    return worker


def worker_url(web_port: int) -> str:
    """Where a worker listening on `web_port` serves its webhook and ops pages."""
    return f"http://127.0.0.1:{web_port}"


@contextmanager
def running_stack(logs: Path, **settings: str) -> Iterator[Stack]:
    """A fresh broker, key host, Dotdigital sandbox and worker; `settings` are CARTWRIGHT_ vars
    and override the stack's own (e.g. `CARTWRIGHT_ADOBE__PUBLIC_KEY_HOST`)."""
    signer = Signer()
    dd_port, web_port = free_port(), free_port()
    processes: list[Process] = []
    webhook = f"http://127.0.0.1:{web_port}/webhooks/adobe-commerce"
    with (
        EmbeddedBroker(port=free_port()) as broker,
        commerce_sandbox(signer, webhook) as commerce,
    ):
        keys = commerce.base_url
        dotdigital_url = f"http://127.0.0.1:{dd_port}"
        # `settings` win over these (a test may point the worker at another key host).
        defaults = {
            "CARTWRIGHT_KAFKA__BOOTSTRAP": broker.bootstrap,
            "CARTWRIGHT_KAFKA__PARTITIONS": "4",
            "CARTWRIGHT_DOTDIGITAL__BASE_URL": dotdigital_url,
            "CARTWRIGHT_ADOBE__PUBLIC_KEY_HOST": keys,
            "CARTWRIGHT_COMMERCE__BASE_URL": commerce.base_url,
            "CARTWRIGHT_COMMERCE__TOKEN": COMMERCE_TOKEN,
            "CARTWRIGHT_WEB__PORT": str(web_port),
            # The fixtures and the simulator's store keep fixed November 2026 dates; the
            # webhook's own tests set the live window back (tests/integration/test_webhook_bounds.py).
            "CARTWRIGHT_WEBHOOK__MAX_EVENT_AGE": "P3650D",
            # The catalogue's schedule writes the store's products into Dotdigital: only the
            # catalogue's own tests turn it on (tests/integration/test_catalogue.py).
            "CARTWRIGHT_CATALOGUE__INTERVAL": "0",
        }
        env = base_env(**{**defaults, **settings})
        try:
            sandbox = start_cli(
                "dotdigital", ["sandbox", "dotdigital", "--port", str(dd_port)], env, logs
            )
            processes.append(sandbox)
            eventually(lambda: _healthy(f"{dotdigital_url}/_sandbox/stats"), what="sandbox")
            worker = start_cli("worker", ["worker"], env, logs)
            processes.append(worker)
            worker_url = f"http://127.0.0.1:{web_port}"
            eventually(lambda: _assigned(f"{worker_url}/ops/status"), what="worker", timeout=90)
            yield Stack(
                bootstrap=broker.bootstrap,
                worker_url=worker_url,
                webhook=webhook,
                dotdigital=Dotdigital(dotdigital_url),
                signer=signer,
                processes=processes,
                commerce=commerce,
                broker_pid=broker.pid,
                env=env,
            )
        finally:
            for process in reversed(processes):
                process.stop()
            for process in processes:
                print(f"--- {process.name} log: {process.log} ---\n{process.tail(30)}")
