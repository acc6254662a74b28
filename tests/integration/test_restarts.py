"""A worker holding state, SIGKILLed and restarted ten times under signed traffic, loses nothing:
Dotdigital ends as a run without kills of the same traffic on a fresh stack, and at quiet points
the worker's table digests before a kill equal those after its recovery and those of the
changelogs themselves."""

from __future__ import annotations

import os
import signal
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from schemas.contract.topics import (
    CARTS,
    CONSENT_OBSERVED,
    CUSTOMERS,
    IDENTITY,
    ORDERS,
    RAW,
    REFUNDS,
    STOREFRONT_CARTS,
)
from streams.ops.table_digest import PartitionDigest
from tests.support.changelogs import changelog_digests, worker_digests
from tests.support.differences import unlike
from tests.support.groups import behind
from tests.support.redelivery import Redelivery
from tests.support.scenario import Scenario, outcome, quiet_outcome, scenario
from tests.support.stack import (
    FIRST_ORDER_PROGRAM,
    ORDER_FULFILLED_PROGRAM,
    Process,
    Stack,
    accepted,
    eventually,
    running_stack,
    start_worker,
    with_programs,
)

pytestmark = pytest.mark.integration

KILLS = 10
APP = "cartwright"
# What the tables are written from: normalize reads the raw topic, the join the rest, the carts
# agent and the storefront's cart emails the carts topics (the checkouts' quote saves).
TABLE_SOURCES = (
    RAW,
    ORDERS,
    CUSTOMERS,
    REFUNDS,
    IDENTITY,
    CONSENT_OBSERVED,
    CARTS,
    STOREFRONT_CARTS,
)
# The tables this traffic fills in every partition (no cart is left armed, nobody browses).
FILLED = ("contacts", "orders", "order_facts", "carts")
SETTINGS = {
    "CARTWRIGHT_ORDERS__BATCH_INTERVAL": "0.5",
    "CARTWRIGHT_PROGRAMS__ORDER_FULFILLED": str(ORDER_FULFILLED_PROGRAM),
    "CARTWRIGHT_PROGRAMS__FIRST_ORDER": str(FIRST_ORDER_PROGRAM),
}
Digests = dict[str, dict[int, PartitionDigest]]


def reference_outcome(logs: Path, traffic: Scenario) -> dict[str, Any]:
    """Dotdigital after the same traffic on a fresh stack whose worker is never killed."""
    with running_stack(logs, **SETTINGS) as stack:
        with_programs(stack)
        for event in traffic.events:
            accepted(stack.deliver(event))
        return eventually(
            lambda: quiet_outcome(stack, traffic),
            timeout=180,
            what="the reference run's outcome in Dotdigital",
        )


def quiet_digests(stack: Stack, adobe: Redelivery) -> Digests | None:
    """The worker's digests once everything sent was accepted and processed, and only if they
    equal the changelogs' (else None: not quiet yet)."""
    if not adobe.idle() or behind(stack.bootstrap, APP, TABLE_SOURCES):
        return None
    held = worker_digests(stack.worker_url)
    if held is None:
        return None
    return held if held == changelog_digests(stack.bootstrap, APP, tuple(held)) else None


def differing(found: Digests, wanted: Digests) -> str:
    """The table partitions whose digests differ, for a failure message."""
    return "; ".join(
        f"{table}[{p}]: {found[table].get(p)} != {wanted[table].get(p)}"
        for table in sorted(wanted)
        for p in sorted(set(found.get(table, {})) | set(wanted[table]))
        if found.get(table, {}).get(p) != wanted[table].get(p)
    )


def kill_and_restart(stack: Stack, worker: Process, logs: Path, name: str) -> Process:
    os.kill(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait(timeout=30)
    return start_worker(stack, logs, name)


def test_a_worker_killed_ten_times_under_traffic_ends_as_a_run_without_kills(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    traffic = scenario()
    started = time.monotonic()
    expected = reference_outcome(tmp_path_factory.mktemp("reference-logs"), traffic)
    reference_took = time.monotonic() - started

    logs = tmp_path_factory.mktemp("restart-logs")
    with running_stack(logs, **SETTINGS) as stack:
        with_programs(stack)
        (worker,) = [p for p in stack.processes if p.name == "worker"]
        adobe = Redelivery(stack)
        chunks = traffic.chunks(KILLS + 1)
        checked: list[Digests] = []
        try:
            for kill in range(KILLS):
                adobe.send(chunks[kill])
                if kill % 2 == 0:
                    # A quiet point: the tables as the worker holds them, then kill -9.
                    before = eventually(
                        lambda: quiet_digests(stack, adobe), timeout=120, what="a quiet point"
                    )
                    worker = kill_and_restart(stack, worker, logs, f"worker-{kill + 1}")
                    after = eventually(
                        lambda: worker_digests(stack.worker_url),
                        timeout=120,
                        what="the restarted worker's recovered tables",
                    )
                    changelogs = changelog_digests(stack.bootstrap, APP, tuple(after))
                    assert after == changelogs, f"kill {kill + 1}: " + differing(after, changelogs)
                    assert after == before, f"kill {kill + 1}: " + differing(after, before)
                    checked.append(before)
                else:
                    # Under traffic: kill once this chunk is flowing; Adobe retries meanwhile.
                    flowing = partial(adobe.has_delivered, adobe.delivered() + 1)
                    eventually(flowing, what="deliveries under way")
                    worker = kill_and_restart(stack, worker, logs, f"worker-{kill + 1}")
            adobe.send(chunks[KILLS])
            final = eventually(lambda: quiet_digests(stack, adobe), timeout=180, what="the end")
            try:
                # Quiet, not only settled: an order's last state may still be on its way in the
                # batch lane when every order already shows its fulfilment.
                found = eventually(
                    lambda: quiet_outcome(stack, traffic),
                    timeout=180,
                    what="the killed run's outcome in Dotdigital",
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{unlike(outcome(stack, traffic), expected)}") from exc
        finally:
            adobe.close()
        print(
            f"reference run {reference_took:.0f} s; killed run "
            f"{time.monotonic() - started - reference_took:.0f} s; deliveries "
            f"{adobe.attempts}; keys per table at the end "
            f"{ {t: sum(d.keys for d in ps.values()) for t, ps in final.items()} }"
        )

    # every order once, each enrolment once, no consent regressed
    assert found == expected, unlike(found, expected)
    assert adobe.attempts.refused > 0  # deliveries did meet a dead worker
    assert len(checked) == KILLS // 2
    assert checked[-1] != checked[0]  # the tables did change between the quiet points
    for table in FILLED:
        partitions = final[table]
        assert sorted(partitions) == [0, 1, 2, 3], table
        assert all(d.keys > 0 for d in partitions.values()), f"{table}: a partition is empty"
