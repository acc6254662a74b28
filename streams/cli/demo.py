"""`make run`: the embedded broker, both sandboxes, a worker (or several on one group) and store
traffic, until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from streams.cli.main import interrupt
from streams.settings import Settings

BROKER_PORT = 9092
DOTDIGITAL_PORT = 8025
COMMERCE_PORT = 8026
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
STORE_URL = "https://luma.example.com"  # the Commerce sandbox's storefront (its pages' Origin)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _wait_until(check: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        if check():
            return
        time.sleep(0.2)  # polling a child process we started; nothing to await
    raise RuntimeError(f"{what} did not come up within {READY_TIMEOUT:.0f} s")


def _answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code < 500
        except httpx.HTTPError:
            return False

    return check


def _stats(url: str) -> dict[str, object]:
    try:
        answer = httpx.get(url, timeout=2.0).json()
    except (httpx.HTTPError, ValueError):
        return {}
    return answer if isinstance(answer, dict) else {}


# What `make run` sets unless the environment says otherwise: programs the sandbox account has
# active, and the behaviour triggers' delays shortened so they fire within minutes.
DEMO_DEFAULTS = {
    "CARTWRIGHT_ORDERS__BATCH_INTERVAL": "5",
    # Fulfilled orders start a journey in program 1, abandoned carts in 2, browse intent in 3.
    "CARTWRIGHT_PROGRAMS__ORDER_FULFILLED": "1",
    "CARTWRIGHT_PROGRAMS__ABANDONED_CART": "2",
    "CARTWRIGHT_PROGRAMS__BROWSE_ABANDONED": "3",
    # A cart left alone for 2 minutes of store time (not an hour), looked at every 5 s.
    "CARTWRIGHT_CARTS__ABANDON_AFTER": "120",
    "CARTWRIGHT_CARTS__TICK_INTERVAL": "5",
    "CARTWRIGHT_CARTS__STORE_URL": STORE_URL,
    # The simulated store's pages may beacon; all its shoppers share one address (loopback),
    # so the per-client limit is one for the whole store here.
    "CARTWRIGHT_STOREFRONT__ALLOWED_ORIGINS": STORE_URL,
    "CARTWRIGHT_STOREFRONT__RATE_PER_SECOND": "100",
    "CARTWRIGHT_STOREFRONT__BURST": "200",
    # A few dozen shoppers rarely view one SKU three times: twice is enough in the demo.
    "CARTWRIGHT_BROWSE__VIEWS": "2",
}
PROGRAM_SETTINGS = {
    "post-purchase": "CARTWRIGHT_PROGRAMS__ORDER_FULFILLED",
    "abandoned cart": "CARTWRIGHT_PROGRAMS__ABANDONED_CART",
    "browse": "CARTWRIGHT_PROGRAMS__BROWSE_ABANDONED",
}


def demo_env(base: Mapping[str, str], *, dotdigital: str, commerce: str) -> dict[str, str]:
    """The environment of every process the demo starts: `base` (the caller's), where the
    broker and the sandboxes are, and DEMO_DEFAULTS for what `base` does not set."""
    return {
        **DEMO_DEFAULTS,
        **base,
        "CARTWRIGHT_KAFKA__BOOTSTRAP": f"127.0.0.1:{BROKER_PORT}",
        "CARTWRIGHT_DOTDIGITAL__BASE_URL": dotdigital,
        "CARTWRIGHT_ADOBE__PUBLIC_KEY_HOST": commerce,
    }


def demo_programs(env: Mapping[str, str]) -> dict[str, int]:
    """Trigger name -> program id, for the programs the demo's environment sets."""
    return {name: int(env[key]) for name, key in PROGRAM_SETTINGS.items() if env.get(key)}


def store_args(webhooks: Sequence[str], *, storefront: str, orders: int) -> list[str]:
    """The Commerce sandbox's command line: signed events to the webhooks, storefront events
    beaconed to a worker's collector, store time starting now and passing at the real pace
    (time scale 1), so `updated_at` is near the wall clock and cart timers fire in minutes."""
    return [
        "sandbox",
        "commerce",
        "--port",
        str(COMMERCE_PORT),
        *webhooks,
        "--storefront",
        storefront,
        "--orders",
        str(orders),
        # Store time is real time, so consent times compare with Dotdigital's.
        "--start-now",
    ]


def enrolment_counts(answer: Mapping[str, object], env: Mapping[str, str]) -> dict[str, int]:
    """Enrolments accepted per trigger, from the sandbox's `/_sandbox/enrolments` answer."""
    rows = answer.get("enrolments")
    programs = [
        row.get("programId") for row in rows if isinstance(row, dict)
    ] if isinstance(rows, list) else []  # fmt: skip
    return {name: programs.count(program) for name, program in demo_programs(env).items()}


def run_demo(settings: Settings, *, orders: int, workers: int = 1) -> int:
    """Start everything, print where to look, report progress, stop it all on Ctrl-C.

    With several `workers`, each has its own web port (CARTWRIGHT_WEB__PORT, then the next ones)
    in the same consumer group, and the store delivers to their webhooks in turn, as a load
    balancer in front of them would.
    """
    if workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 1
    web_ports = [settings.web.port + n for n in range(workers)]
    for port in (BROKER_PORT, DOTDIGITAL_PORT, COMMERCE_PORT, *web_ports):
        if not _port_free(port):
            print(f"port {port} is in use; stop whatever holds it and run again", file=sys.stderr)
            return 1
    logs = Path(".run")
    logs.mkdir(exist_ok=True)
    dotdigital = f"http://127.0.0.1:{DOTDIGITAL_PORT}"
    commerce = f"http://127.0.0.1:{COMMERCE_PORT}"
    worker_urls = [f"http://127.0.0.1:{port}" for port in web_ports]
    env = demo_env(os.environ, dotdigital=dotdigital, commerce=commerce)
    cli = [sys.executable, "-m", "streams"]
    signal.signal(signal.SIGTERM, interrupt)
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(name: str, *args: str, **more_env: str) -> subprocess.Popen[bytes]:
        log_file = (logs / f"{name}.log").open("wb")
        # A session of its own: Ctrl-C reaches only this command, which stops the children in
        # order (the broker last), not all of them at once.
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [*cli, *args],
            env={**env, **more_env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append((name, process))
        return process

    try:
        broker = start("broker", "broker", "--port", str(BROKER_PORT))
        _wait_until(lambda: not _port_free(BROKER_PORT), "the broker", broker)
        print(f"broker      kafka://127.0.0.1:{BROKER_PORT} (Tansu, in memory)", flush=True)
        sandbox = start("dotdigital", "sandbox", "dotdigital", "--port", str(DOTDIGITAL_PORT))
        _wait_until(_answers(f"{dotdigital}/_sandbox/stats"), "the Dotdigital sandbox", sandbox)
        programs = {str(program): True for program in demo_programs(env).values()}
        httpx.post(f"{dotdigital}/_sandbox/programs", json={"programs": programs}, timeout=5)
        print(f"dotdigital  {dotdigital}/_sandbox/stats", flush=True)
        names = ["worker", *(f"worker-{n}" for n in range(2, workers + 1))]
        started = [
            start(name, "worker", CARTWRIGHT_WEB__PORT=str(port))
            for name, port in zip(names, web_ports, strict=True)
        ]
        for name, url, worker in zip(names, worker_urls, started, strict=True):
            _wait_until(_answers(f"{url}/ops/health"), f"the {name}", worker)
            print(f"{name:<12}{url}/ops/ (status page; JSON at /ops/status)", flush=True)
        webhooks = [
            arg for url in worker_urls for arg in ("--webhook", f"{url}/webhooks/adobe-commerce")
        ]
        store = start(
            "commerce",
            *store_args(webhooks, storefront=f"{worker_urls[0]}/storefront/events", orders=orders),
        )
        _wait_until(_answers(f"{commerce}/_sandbox/status"), "the Commerce sandbox", store)
        to = "worker" if workers == 1 else f"{workers} workers, in turn"
        print(f"store       {commerce}/_sandbox/status (signed events → {to})", flush=True)
        print(
            f"records     {dotdigital}/insightData/v3/contacts/email/<email>/Orders "
            f"(Basic auth: the CARTWRIGHT_DOTDIGITAL__USERNAME/__PASSWORD user)",
            flush=True,
        )
        programs_line = ", ".join(f"{name} {p}" for name, p in demo_programs(env).items())
        print(f"enrolments  {dotdigital}/_sandbox/enrolments (programs: {programs_line})")
        print(
            f"triggers    abandoned carts enrol {env['CARTWRIGHT_CARTS__ABANDON_AFTER']} s after "
            f"their last change; browse: a SKU viewed {env['CARTWRIGHT_BROWSE__VIEWS']} times "
            f"unbought (storefront events → {worker_urls[0]}/storefront/events)",
            flush=True,
        )
        print(f"logs        {logs.resolve()}/*.log   — Ctrl-C stops everything", flush=True)
        while all(process.poll() is None for _, process in processes):
            delivered = _stats(f"{commerce}/_sandbox/status").get("delivered", 0)
            landed = _stats(f"{dotdigital}/_sandbox/stats")
            enrolled = enrolment_counts(_stats(f"{dotdigital}/_sandbox/enrolments"), env)
            print(
                f"events delivered: {delivered}   enrolments: {enrolled}   dotdigital: {landed}",
                flush=True,
            )
            time.sleep(10)  # a progress line for the operator, not a test
        failed = [name for name, process in processes if process.poll() is not None]
        print(f"stopped: {', '.join(failed)} exited; see {logs}/", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"could not start: {exc}; see {logs}/", file=sys.stderr)
        return 1
    finally:
        # Workers leave their group and commit through the broker: the broker stops last.
        _stop([process for name, process in processes if name != "broker"])
        _stop([process for name, process in processes if name == "broker"])


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM all at once, then wait for them together; kill what is still running."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        if process.poll() is None:
            process.kill()
            process.wait()
