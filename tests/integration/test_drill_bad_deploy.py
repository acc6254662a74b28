"""Drill 2, a bad deploy: a worker whose data field mapping is wrong runs over the store's traffic;
the mapping is fixed and the window replayed. Dotdigital then equals a clean run of the same
traffic, exactly, nobody is enrolled twice, and replaying the window again changes nothing. The
dry run names the writes the real run then sends."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.contract.replay import replay_run
from schemas.contract.topics import RAW, WRITES, WRITES_REALTIME
from schemas.dotdigital.commands import Lane, WriteCommand
from schemas.rules.replay_window import raw_event_time
from streams.cli.dry_run import write_kind
from streams.runtime.catch_up import Record, read_to_end
from tests.support.groups import behind
from tests.support.scenario import Scenario, outcome, scenario, settled_outcome
from tests.support.stack import (
    FIRST_ORDER_PROGRAM,
    ORDER_FULFILLED_PROGRAM,
    Stack,
    accepted,
    eventually,
    running_stack,
    start_worker,
)

pytestmark = pytest.mark.integration

APP = "cartwright"
SETTINGS = {
    "CARTWRIGHT_ORDERS__BATCH_INTERVAL": "0.5",
    "CARTWRIGHT_PROGRAMS__ORDER_FULFILLED": str(ORDER_FULFILLED_PROGRAM),
    "CARTWRIGHT_PROGRAMS__FIRST_ORDER": str(FIRST_ORDER_PROGRAM),
}
# The bad deploy: first and last names written into each other's data fields.
WRONG_MAPPING = {
    "CARTWRIGHT_DOTDIGITAL__DATA_FIELDS": '{"FIRSTNAME": "LASTNAME", "LASTNAME": "FIRSTNAME"}'
}
# Every topic a replayed record passes through on its way to Dotdigital.
PIPELINE = (RAW, "commerce.orders.v1", "commerce.customers.v1", "commerce.refunds.v1", WRITES)
ROW = re.compile(r"^[│|]\s*(?P<kind>[A-Za-z][\w ]*?)\s*[│|]\s*(?P<count>[\d,]+)\s*[│|]$")


def with_programs(stack: Stack) -> Stack:
    programs = {str(ORDER_FULFILLED_PROGRAM): True, str(FIRST_ORDER_PROGRAM): True}
    stack.dotdigital.admin("programs", {"programs": programs})
    return stack


def clean_run(logs: Path, traffic: Scenario) -> dict[str, Any]:
    logs.mkdir()
    with running_stack(logs, **SETTINGS) as stack:
        with_programs(stack)
        for event in traffic.events:
            accepted(stack.deliver(event))
        return eventually(
            lambda: settled_outcome(stack, traffic), timeout=180, what="the clean run's outcome"
        )


def window(traffic: Scenario) -> tuple[str, str]:
    """The traffic's event times, first to just after the last."""
    times = [raw_event_time(orjson.dumps(event)) for event in traffic.events]
    known = [moment for moment in times if moment is not None]
    return min(known).isoformat(), (max(known) + timedelta(seconds=1)).isoformat()


def replay(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "streams", "replay", *args],
        env=stack.env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    output = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, output
    return output


def dry_run_counts(output: str) -> Counter[str]:
    """The dry run's "would be written" table, as counts by kind."""
    table = output.split("would be written", 1)[1]
    counts: Counter[str] = Counter()
    for line in table.splitlines():
        found = ROW.match(line.strip())
        if found and found["kind"] != "Dotdigital write" and found["kind"] != "none":
            counts[found["kind"]] = int(found["count"].replace(",", ""))
    return counts


def replayed_writes(bootstrap: str) -> dict[str, Counter[str]]:
    """Write commands on the writes topics per replay run, counted by kind."""
    runs: dict[str, Counter[str]] = {}

    def keep(record: Record) -> None:
        run = replay_run(list(record.headers or ()))
        if run is None or record.value is None:
            return
        write = WriteCommand.model_validate_json(record.value)
        assert write.command.lane is Lane.BATCH, f"a replay wrote on the realtime lane: {write}"
        runs.setdefault(run, Counter())[write_kind(write)] += 1

    async def read() -> None:
        for topic in (WRITES, WRITES_REALTIME):
            await read_to_end(bootstrap, topic, keep)

    asyncio.run(read())
    return runs


def written(stack: Stack, predicted: Counter[str], other_than: str | None = None) -> str | None:
    """The replay run whose writes are all in, as many of each kind as `predicted` (None while
    none is); the test fails at once should a run send more than the dry run said."""
    for run, counts in replayed_writes(stack.bootstrap).items():
        if run == other_than:
            continue
        assert all(counts[kind] <= n for kind, n in predicted.items()) and set(counts) <= set(
            predicted
        ), f"{run} wrote {counts}, the dry run said {predicted}"
        if counts == predicted:
            return run
    return None


def quiet(stack: Stack) -> bool:
    return not behind(stack.bootstrap, APP, PIPELINE)


def test_a_bad_deploy_is_repaired_by_replaying_its_window(tmp_path: Path) -> None:
    traffic = scenario(shoppers=16, newsletter_guests=2, seed=1414)
    wanted = clean_run(tmp_path / "clean", traffic)
    start, end = window(traffic)
    logs = tmp_path / "drill"
    logs.mkdir()
    with running_stack(logs, **SETTINGS, **WRONG_MAPPING) as stack:
        with_programs(stack)
        for event in traffic.events:
            accepted(stack.deliver(event))
        wrong = eventually(
            lambda: settled_outcome(stack, traffic), timeout=180, what="the bad deploy's outcome"
        )
        assert wrong != wanted, "the wrong mapping changed nothing: the drill proves nothing"
        # The fix: the worker restarts with the mapping corrected.
        worker = next(p for p in stack.processes if p.name == "worker")
        worker.stop()
        del stack.env["CARTWRIGHT_DOTDIGITAL__DATA_FIELDS"]
        start_worker(stack, logs, "fixed-worker")

        dry = replay(stack, "--from", start, "--to", end, "--dry-run")
        predicted = dry_run_counts(dry)
        assert predicted["contact"] > 0 and predicted["Orders record"] > 0, dry
        assert outcome(stack, traffic) == wrong, "the dry run wrote something"

        replay(stack, "--from", start, "--to", end, "--yes")
        repaired = eventually(
            lambda: (found := outcome(stack, traffic)) == wanted and found,
            timeout=180,
            what="Dotdigital equal to the clean run after the replay",
        )
        assert repaired == wanted
        first = eventually(
            lambda: written(stack, predicted), what="the replay's writes as the dry run said"
        )

        # The same window again: the same writes, as upserts; Dotdigital does not change.
        replay(stack, "--from", start, "--to", end, "--yes")
        second = eventually(
            lambda: written(stack, predicted, other_than=first),
            what="the second replay's writes, the same again",
        )
        assert second != first
        eventually(lambda: quiet(stack), timeout=120, what="the pipeline caught up")
        assert outcome(stack, traffic) == wanted
