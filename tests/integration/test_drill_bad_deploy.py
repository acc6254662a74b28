"""Drill 2, a bad deploy: over a day of store traffic (orders, shipments, partial and full refunds,
consent), a worker whose data field mapping is wrong runs from hour 8 to hour 16, then the fix is
deployed and that window replayed. Dotdigital's contacts, Orders, Refunds and enrolments then
equal a clean run's of the same day, exactly; nobody is enrolled twice; the dry run names the
writes the replay then sends; replaying the window again sends the same upserts and changes
nothing."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from schemas.contract.replay import replay_run
from schemas.contract.topics import WRITES, WRITES_REALTIME
from schemas.dotdigital.commands import Lane, WriteCommand
from streams.cli.dry_run import write_kind
from streams.runtime.catch_up import Record, read_to_end
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
    running_stack,
    start_worker,
    with_programs,
)

pytestmark = pytest.mark.integration

SETTINGS = {
    "CARTWRIGHT_ORDERS__BATCH_INTERVAL": "0.5",
    "CARTWRIGHT_PROGRAMS__ORDER_FULFILLED": str(ORDER_FULFILLED_PROGRAM),
    "CARTWRIGHT_PROGRAMS__FIRST_ORDER": str(FIRST_ORDER_PROGRAM),
}
# The bad deploy: first and last names written into each other's data fields.
WRONG_MAPPING = {
    "CARTWRIGHT_DOTDIGITAL__DATA_FIELDS": '{"FIRSTNAME": "LASTNAME", "LASTNAME": "FIRSTNAME"}'
}
ROW = re.compile(r"^[│|]\s*(?P<kind>[A-Za-z][\w ]*?)\s*[│|]\s*(?P<count>[\d,]+)\s*[│|]$")


def clean_run(logs: Path, traffic: Scenario) -> dict[str, Any]:
    logs.mkdir()
    with running_stack(logs, **SETTINGS) as stack:
        with_programs(stack)
        for event in traffic.events:
            accepted(stack.deliver(event))
        return eventually(
            lambda: quiet_outcome(stack, traffic), timeout=240, what="the clean run's outcome"
        )


def deliver(stack: Stack, traffic: Scenario, events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in events:
        accepted(stack.deliver(event))
    return eventually(lambda: caught_up(stack, traffic), timeout=240, what="the worker caught up")


def caught_up(stack: Stack, traffic: Scenario) -> dict[str, Any] | None:
    return None if behind(stack.bootstrap, APP, PIPELINE) else outcome(stack, traffic)


def redeploy(stack: Stack, logs: Path, name: str, **settings: str) -> None:
    """The worker stopped and started again with `settings` changed (empty value: unset)."""
    for process in stack.processes:
        if process.name.endswith("worker"):
            process.stop()
    for key, value in settings.items():
        if value:
            stack.env[key] = value
        else:
            stack.env.pop(key, None)
    start_worker(stack, logs, name)


def replay(stack: Stack, checkpoint: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "streams", "replay", "--checkpoint", str(checkpoint), *args],
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


def test_a_bad_deploy_is_repaired_by_replaying_its_window(tmp_path: Path) -> None:
    traffic = day_scenario()
    wanted = clean_run(tmp_path / "clean", traffic)
    # The bad deploy ran from the store's hour 8 to hour 16; the fix went out then.
    start, end = traffic.at(8), traffic.at(16)
    logs = tmp_path / "drill"
    logs.mkdir()
    checkpoint = tmp_path / "replay.json"
    with running_stack(logs, **SETTINGS) as stack:
        with_programs(stack)
        deliver(stack, traffic, traffic.between(traffic.at(-1), start))
        redeploy(stack, logs, "wrong-worker", **WRONG_MAPPING)
        deliver(stack, traffic, traffic.between(start, end))
        redeploy(stack, logs, "fixed-worker", CARTWRIGHT_DOTDIGITAL__DATA_FIELDS="")
        deliver(stack, traffic, traffic.between(end, traffic.at(48)))
        wrong = eventually(
            lambda: quiet_outcome(stack, traffic), timeout=240, what="the bad deploy's outcome"
        )
        assert wrong != wanted, "the wrong mapping left no trace: the drill proves nothing"
        window = ("--from", start.isoformat(), "--to", end.isoformat())

        dry = replay(stack, checkpoint, *window, "--dry-run")
        predicted = dry_run_counts(dry)
        assert predicted["contact"] > 0 and predicted["Orders record"] > 0, dry
        assert predicted["Refunds record"] > 0 and "enrolment" not in predicted, dry
        # Once the group has caught up again (a lane may commit a moment late on a busy machine).
        after_dry_run = eventually(lambda: caught_up(stack, traffic), what="the group caught up")
        assert after_dry_run == wrong, "the dry run wrote something"

        replay(stack, checkpoint, *window, "--yes")
        first = eventually(
            lambda: written(stack, predicted), what="the replay's writes as the dry run said"
        )
        repaired = eventually(
            lambda: quiet_outcome(stack, traffic), timeout=240, what="the replay written"
        )
        assert repaired == wanted, unlike(repaired, wanted)

        # The same window again: the same writes, as upserts; Dotdigital does not change.
        replay(stack, checkpoint, *window, "--yes")
        second = eventually(
            lambda: written(stack, predicted, other_than=first),
            what="the second replay's writes, the same again",
        )
        assert second != first
        again = eventually(
            lambda: quiet_outcome(stack, traffic), timeout=240, what="the second replay written"
        )
        assert again == wanted, unlike(again, wanted)
