"""Drill 1, a Dotdigital outage: the account answers 503 to every call for an hour of a store
day's traffic, then recovers. The sink waits and retries, so nothing is lost, nothing is
dead-lettered, no replay is needed and the worker never stops: Dotdigital ends exactly as a run
of the same day without an outage, on a fresh stack."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.contract.topics import DEADLETTER, EXCEPTIONS, WRITES, WRITES_REALTIME
from tests.support.differences import unlike
from tests.support.groups import behind
from tests.support.scenario import (
    APP,
    PIPELINE,
    Scenario,
    day_scenario,
    outcome,
    quiet_outcome,
)
from tests.support.stack import (
    FIRST_ORDER_PROGRAM,
    ORDER_FULFILLED_PROGRAM,
    Stack,
    accepted,
    eventually,
    read_all,
    running_stack,
    with_programs,
)

pytestmark = pytest.mark.integration

SETTINGS = {
    "CARTWRIGHT_ORDERS__BATCH_INTERVAL": "0.5",
    "CARTWRIGHT_PROGRAMS__ORDER_FULFILLED": str(ORDER_FULFILLED_PROGRAM),
    "CARTWRIGHT_PROGRAMS__FIRST_ORDER": str(FIRST_ORDER_PROGRAM),
}
# The store hour Dotdigital is down for: placements, invoices, shipments, credit memos, sign-ups
# and subscriptions all happen in it (asserted below).
OUTAGE_HOUR = 5
DOWN = {"error_rate": 1.0, "error_status": 503, "error_body": "html"}
# Calls Dotdigital refuses before it comes back: more than the outage hour's writes make at
# first (about seven), so the sink has been refused and has retried.
REFUSALS = 20
SINK_TOPICS = frozenset({WRITES, WRITES_REALTIME})
EVERY_KIND = {
    "sales_order",
    "sales_order_shipment",
    "sales_order_creditmemo",
    "customer",
    "newsletter_subscriber",
}


def kinds(events: list[dict[str, Any]]) -> set[str]:
    """The Commerce entities whose saves `events` are."""
    prefix, suffix = "com.adobe.commerce.observer.", "_save_commit_after"
    return {e["type"].removeprefix(prefix).removesuffix(suffix) for e in events}


def deliver(stack: Stack, events: list[dict[str, Any]]) -> None:
    for event in events:
        accepted(stack.deliver(event))


def incidents(stack: Stack) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every dead letter and every exception record the run left."""
    return read_all(stack.bootstrap, DEADLETTER), read_all(stack.bootstrap, EXCEPTIONS)


def reference_run(logs: Path, traffic: Scenario) -> tuple[dict[str, Any], list[str]]:
    """Dotdigital after the same day on a fresh stack that Dotdigital never fails, and the
    reasons of the exception records it left."""
    with running_stack(logs, **SETTINGS) as stack:
        with_programs(stack)
        deliver(stack, traffic.events)
        found = eventually(
            lambda: quiet_outcome(stack, traffic),
            timeout=180,
            what="the reference run's outcome in Dotdigital",
        )
        dead, exceptions = incidents(stack)
    assert dead == [], f"the reference run dead-lettered: {dead[:3]}"
    return found, sorted(e["value"]["reason"] for e in exceptions)


def written(stack: Stack) -> bool:
    """The worker has committed everything it was sent: Dotdigital has it all."""
    return not behind(stack.bootstrap, APP, PIPELINE)


def holding(stack: Stack, refused_before: int) -> dict[str, dict[int, int]] | None:
    """While Dotdigital is down: what the sink holds uncommitted, once every event delivered has
    reached it (nothing is behind upstream of the sink's topics) and Dotdigital has refused at
    least `REFUSALS` of its calls; else None."""
    refused = stack.dotdigital.admin("stats")["faults_injected"] - refused_before
    lagging = behind(stack.bootstrap, APP, PIPELINE)
    if refused < REFUSALS or not lagging or not set(lagging) <= SINK_TOPICS:
        return None
    return lagging


def test_an_hour_of_dotdigital_503s_loses_nothing_and_ends_as_a_clean_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    traffic = day_scenario()
    before = traffic.hours(0, OUTAGE_HOUR)
    during = traffic.hours(OUTAGE_HOUR, OUTAGE_HOUR + 1)
    after = traffic.events[len(before) + len(during) :]
    assert before + during + after == traffic.events
    assert kinds(during) >= EVERY_KIND, kinds(during)

    started = time.monotonic()
    expected, reference_exceptions = reference_run(
        tmp_path_factory.mktemp("reference-logs"), traffic
    )
    reference_took = time.monotonic() - started

    logs = tmp_path_factory.mktemp("outage-logs")
    with running_stack(logs, **SETTINGS) as stack:
        with_programs(stack)
        (worker,) = [p for p in stack.processes if p.name == "worker"]
        deliver(stack, before)
        eventually(lambda: written(stack), timeout=120, what="the hours before the outage")
        stats = stack.dotdigital.admin("stats")

        stack.dotdigital.admin("faults", DOWN)
        down_at = time.monotonic()
        try:
            deliver(stack, during)
            held = eventually(
                lambda: holding(stack, stats["faults_injected"]),
                timeout=120,
                what="the sink holding the outage hour's writes while Dotdigital refuses them",
            )
            while_down = stack.dotdigital.admin("stats")
        finally:
            stack.dotdigital.admin("faults", {})
        down_for = time.monotonic() - down_at

        up_at = time.monotonic()
        deliver(stack, after)
        try:
            found = eventually(
                lambda: quiet_outcome(stack, traffic),
                timeout=240,
                what="the outage run's outcome in Dotdigital",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{unlike(outcome(stack, traffic), expected)}") from exc
        recovered_in = time.monotonic() - up_at
        dead, exceptions = incidents(stack)
        status = httpx.get(f"{stack.worker_url}/ops/status", timeout=5)
        alive = worker.popen.poll() is None
        print(
            f"reference run {reference_took:.0f} s; outage run: Dotdigital down {down_for:.1f} s "
            f"({while_down['faults_injected'] - stats['faults_injected']} calls refused, "
            f"{sum(sum(p.values()) for p in held.values())} write commands held), then all "
            f"written {recovered_in:.1f} s after it came back; "
            f"{len(traffic.events)} events, {len(expected['people'])} people"
        )

    # While down, the sink wrote nothing and committed nothing of what Dotdigital refused.
    assert while_down["collections"] == stats["collections"]
    assert while_down["contacts"] == stats["contacts"]
    assert while_down["enrolments"] == stats["enrolments"]
    assert held.keys() <= SINK_TOPICS
    # The same worker carried on through it all.
    assert alive, worker.tail()
    assert status.status_code == 200
    # Nothing lost and nothing repeated: every contact, data field, Orders and Refunds record,
    # consent status and enrolment as the clean run left them, with no replay.
    assert found == expected, unlike(found, expected)
    # Nothing dead-lettered, and no exception beyond the clean run's.
    assert dead == [], [(d["value"]["reason"], d["value"]["detail"]) for d in dead[:5]]
    assert sorted(e["value"]["reason"] for e in exceptions) == reference_exceptions
