"""Three workers on one group, one of them SIGKILLed and restarted ten times while signed orders
arrive at all three webhooks: no worker crashes in recovery, every order lands, every fulfilled
order is enrolled once, no contact twice, and Dotdigital never answers 429."""

from __future__ import annotations

import os
import signal
import time
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.contract.topics import (
    CONSENT,
    CONSENT_OBSERVED,
    CUSTOMERS,
    EXCEPTIONS,
    ORDERS,
    RAW,
    WRITES,
    WRITES_REALTIME,
)
from tests.support.groups import behind
from tests.support.redelivery import Redelivery
from tests.support.scenario import APP, PIPELINE, outcome, scenario, settled_outcome, unsettled
from tests.support.stack import (
    FIRST_ORDER_PROGRAM,
    ORDER_FULFILLED_PROGRAM,
    Process,
    Stack,
    eventually,
    free_port,
    read_all,
    running_stack,
    start_worker,
    worker_url,
)

pytestmark = pytest.mark.integration

KILLS = 10
SETTINGS = {
    # Faust's assignor gives each worker ceil(partitions / workers) of a topic: with four, the
    # third worker would hold nothing; with six, every worker holds two and state to recover.
    "CARTWRIGHT_KAFKA__PARTITIONS": "6",
    "CARTWRIGHT_ORDERS__BATCH_INTERVAL": "0.5",
    "CARTWRIGHT_PROGRAMS__ORDER_FULFILLED": str(ORDER_FULFILLED_PROGRAM),
    "CARTWRIGHT_PROGRAMS__FIRST_ORDER": str(FIRST_ORDER_PROGRAM),
}
CRASHES = ("Traceback", "ConsistencyError")


def crashes_in(logs: list[Process]) -> dict[str, list[str]]:
    """Per worker log, the lines that show a crash."""
    found: dict[str, list[str]] = {}
    for process in logs:
        text = process.log.read_text(errors="replace") if process.log.exists() else ""
        lines = [line for line in text.splitlines() if any(c in line for c in CRASHES)]
        if lines:
            found[process.name] = lines[:10]
    return found


TRAIL = (RAW, ORDERS, CUSTOMERS, CONSENT_OBSERVED, CONSENT, WRITES, WRITES_REALTIME, EXCEPTIONS)


def emails_in(missing: list[str]) -> list[str]:
    return sorted({line.split(":", 1)[0] for line in missing})


def where(stack: Stack, email: str) -> dict[str, Any]:
    """The records of each pipeline topic naming `email`, as (partition, offset), write commands
    and exception records with what they say: where its records stopped."""
    needle = email.encode()
    found: dict[str, Any] = {
        topic: [
            (record["partition"], record["offset"], said(topic, record["value"]))
            for record in read_all(stack.bootstrap, topic, decode=bytes)
            if needle in record["value"]
        ]
        for topic in TRAIL
    }
    found["in the sandbox's contacts"] = email in str(stack.dotdigital.admin("contacts"))
    return found


def said(topic: str, value: bytes) -> str:
    if topic in (WRITES, WRITES_REALTIME):
        command = orjson.loads(value)["command"]
        return f"{command['kind']} {command.get('lane')} prev={command.get('previous_email')}"
    if topic == EXCEPTIONS:
        record = orjson.loads(value)
        return f"{record['reason']}: {record['message'][:160]}"
    return ""


def test_three_workers_one_killed_ten_times_lose_and_repeat_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    traffic = scenario()
    logs: Path = tmp_path_factory.mktemp("three-worker-logs")
    started = time.monotonic()
    with running_stack(logs, **SETTINGS) as stack:
        programs = {str(ORDER_FULFILLED_PROGRAM): True, str(FIRST_ORDER_PROGRAM): True}
        stack.dotdigital.admin("programs", {"programs": programs})
        ports = [free_port(), free_port()]
        victim = start_worker(stack, logs, "worker-2", web_port=ports[0])
        start_worker(stack, logs, "worker-3", web_port=ports[1])
        webhooks = [stack.webhook] + [f"{worker_url(p)}/webhooks/adobe-commerce" for p in ports]
        adobe = Redelivery(stack, webhooks)
        chunks = traffic.chunks(KILLS + 1)
        try:
            for kill in range(KILLS):
                adobe.send(chunks[kill])
                eventually(partial(adobe.has_delivered, adobe.delivered() + 1), what="traffic")
                os.kill(victim.popen.pid, signal.SIGKILL)
                victim.popen.wait(timeout=30)
                victim = start_worker(stack, logs, f"worker-2-{kill + 1}", web_port=ports[0])
            adobe.send(chunks[KILLS])
            eventually(adobe.idle, timeout=120, what="every delivery answered 2xx")
            try:
                found = eventually(
                    lambda: settled_outcome(stack, traffic),
                    timeout=240,
                    what="every order, enrolment and consent status in Dotdigital",
                )
            except AssertionError as timed_out:
                missing = unsettled(outcome(stack, traffic), traffic)
                trail = {email: where(stack, email) for email in emails_in(missing)}
                answered = {
                    email: [
                        (event["type"].rsplit(".", 1)[-1], adobe.answers.get(event["eventid"]))
                        for event in traffic.events
                        if email.encode() in orjson.dumps(event)
                    ]
                    for email in emails_in(missing)
                }
                raise AssertionError(
                    f"{timed_out}; still missing: {missing}; records naming them: {trail}; "
                    f"their deliveries answered: {answered}; "
                    f"not committed: {behind(stack.bootstrap, APP, PIPELINE)}"
                ) from None
            stats = stack.dotdigital.admin("stats")
        finally:
            adobe.close()
        survivors = [p for p in stack.processes if p.popen.poll() is None]
        worker_logs = [p for p in stack.processes if p.name.startswith("worker")]
        print(
            f"three workers, {KILLS} kills: {time.monotonic() - started:.0f} s; deliveries "
            f"{adobe.attempts}; Dotdigital calls {stats['calls']}, 429s {stats['rate_limited']}"
        )
        assert {p.name for p in survivors} >= {"worker", "worker-3", victim.name, "dotdigital"}
        assert crashes_in(worker_logs) == {}

    assert adobe.attempts.refused > 0  # deliveries did meet the dead worker
    assert found["totals"]["contacts"] == len(traffic.emails)  # no contact twice
    orders = sum(len(o) for o in traffic.orders.values())
    assert found["totals"]["collections"]["Orders"] == orders  # every order once
    enrolments = sum(sum(p.values()) for p in traffic.enrolments.values())
    assert found["totals"]["enrolments"] == enrolments  # each fulfilled order enrolled once
    assert stats["rate_limited"] == 0
