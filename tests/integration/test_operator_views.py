"""The operator's views on the real stack, with store traffic and injected faults: an enrolment
Dotdigital refuses, a product with an empty attribute, a suppressed contact, an order with an
invalid email and a Dotdigital outage. `cartwright exceptions` lists each with its subject,
reason and impact; `cartwright trace order` shows where a failed order stopped and why, and the
Dotdigital record of a good one; a replay after the fix resolves the refused enrolment; and every
command of the runbook (docs/runbook.md) runs against the stack."""

from __future__ import annotations

import re
import shlex
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sandbox.commerce.simulator.store import Store
from schemas.contract.topics import EXCEPTIONS, WRITES
from tests.support.cli import cartwright as run_cartwright
from tests.support.stack import (
    FIRST_ORDER_PROGRAM,
    ORDER_FULFILLED_PROGRAM,
    Stack,
    eventually,
    read_topic,
    running_stack,
)

pytestmark = pytest.mark.integration

PROGRAMS = (ORDER_FULFILLED_PROGRAM, FIRST_ORDER_PROGRAM)


@dataclass
class Played:
    """The orders of each fault, by role: role → (email, increment id)."""

    stack: Stack
    orders: dict[str, tuple[str, str]]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("operator-views")


@pytest.fixture(scope="module")
def stack(logs: Path) -> Iterator[Stack]:
    with running_stack(
        logs,
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5",
        CARTWRIGHT_PROGRAMS__ORDER_FULFILLED=str(ORDER_FULFILLED_PROGRAM),
        CARTWRIGHT_PROGRAMS__FIRST_ORDER=str(FIRST_ORDER_PROGRAM),
    ) as running:
        yield running


def cartwright(stack: Stack, *args: str) -> tuple[int, str]:
    """Run a `cartwright` command as an operator would, against the stack."""
    return run_cartwright(stack.env, *args, timeout=180)


def programs(stack: Stack, *, active: bool) -> None:
    stack.dotdigital.admin("programs", {"programs": {str(p): active for p in PROGRAMS}})


def catalogue_synced(stack: Stack, logs: Path) -> None:
    """The store's products synced with a mapping whose Orders lines carry colour and material
    (the products without a material are the sync's `attribute_missing` exceptions)."""
    mapping = logs / "mapping.toml"
    mapping.write_text(
        '[fields]\ncolor = "colour"\nmaterial = "material"\n\n[orders]\nlines = ["color", "material"]\n',
        encoding="utf-8",
    )
    env = {
        **stack.env,
        "CARTWRIGHT_CATALOGUE__MAPPING": str(mapping),
        "CARTWRIGHT_CATALOGUE__CHECKPOINT": str(logs / "catalogue.json"),
    }
    code, output = run_cartwright(env, "catalogue", "sync", "--full", timeout=180)
    assert code == 0, output


def fulfilled(stack: Stack, email: str, sku: str = "24-MB01") -> str:
    """A guest's order of `sku` placed, invoiced and shipped in the store; its number."""

    def buy(store: Store) -> str:
        order = store.place_order(
            store.guest(email, "Grace", "Hopper"), [store.catalogue.line(sku, 1)]
        )
        store.invoice(order)
        store.ship(order)
        return order.increment_id

    return stack.commerce.act(buy)


def exception_for(stack: Stack, subject: str, reason: str) -> None:
    def seen(records: list[dict[str, Any]]) -> bool:
        return any(
            r["value"]["subject"] == subject and r["value"]["reason"] == reason for r in records
        )

    read_topic(stack.bootstrap, EXCEPTIONS, seen, timeout=90)


def landed(stack: Stack, email: str, number: str) -> None:
    eventually(
        lambda: stack.dotdigital.record(email, "Orders", number),
        timeout=90,
        what=f"order {number} in Dotdigital",
    )


@pytest.fixture(scope="module")
def played(stack: Stack, logs: Path) -> Played:
    tag = uuid.uuid4().hex[:6]
    orders: dict[str, tuple[str, str]] = {}
    catalogue_synced(stack, logs)

    # An enrolment Dotdigital refuses: the marketer left the programs inactive.
    programs(stack, active=False)
    refused = f"refused.{tag}@example.com"
    orders["refused"] = (refused, fulfilled(stack, refused))
    exception_for(stack, f"order {orders['refused'][1]} (order_fulfilled)", "dotdigital_rejected")
    programs(stack, active=True)

    # A good order; one of a product without the mapped `material`; a suppressed contact's.
    for role, sku in (("good", "24-MB01"), ("attribute", "24-WG02"), ("suppressed", "24-MB01")):
        email = f"{role}.{tag}@example.com"
        if role == "suppressed":
            stack.dotdigital.admin(f"contacts/{email}/status", {"status": "hardBounced"})
        orders[role] = (email, fulfilled(stack, email, sku))
    # An order whose email is not an address.
    invalid = f"invalid-{tag}-at-example.com"
    orders["invalid"] = (invalid, fulfilled(stack, invalid))

    for role in ("good", "attribute", "suppressed"):
        landed(stack, *orders[role])
    suppressed = orders["suppressed"][1]
    exception_for(stack, f"order {suppressed} (order_fulfilled)", "consent_gate")
    exception_for(stack, "SKU 24-WG02", "attribute_missing")
    exception_for(stack, f"order {orders['invalid'][1]}", "invalid_email")
    return Played(stack, orders)


def test_exceptions_lists_each_fault_with_its_subject_reason_and_impact(played: Played) -> None:
    code, table = cartwright(played.stack, "exceptions")
    rows = table.splitlines()
    refused, suppressed = played.orders["refused"][1], played.orders["suppressed"][1]

    assert code == 0, table

    def row(subject: str, reason: str) -> str:
        found = [line for line in rows if subject in line and reason in line]
        assert found, f"no row of {subject} / {reason} in:\n{table}"
        return found[0]

    assert "not in the post-purchase journey for order " + refused in row(
        f"order {refused} (order_fulfilled)", "dotdigital_rejected"
    )
    assert "ERROR_PROGRAM_NOT_ACTIVE" in row(f"order {refused} (order_fulfilled)", "dotdigital")
    assert "as the contact has opted out" in row(
        f"order {suppressed} (order_fulfilled)", "consent_gate"
    )
    assert "attribute `material` (catalogue field `material`) is empty on SKU 24-WG02" in row(
        "SKU 24-WG02", "attribute_missing"
    )
    assert "is not in Dotdigital's Orders" in row(
        f"order {played.orders['invalid'][1]}", "invalid_email"
    )
    # The good order has none.
    assert not [line for line in rows if f"order {played.orders['good'][1]}" in line]

    code, only = cartwright(played.stack, "exceptions", "--reason", "attribute_missing")
    assert "SKU 24-WG02" in only and "dotdigital_rejected" not in only


def test_trace_shows_the_dotdigital_record_of_a_good_order(played: Played) -> None:
    email, number = played.orders["good"]

    code, shown = cartwright(played.stack, "trace", "order", number)

    assert code == 0, shown
    assert f"order {number} is in Dotdigital, last written" in shown
    assert f"Orders record {number}: status complete" in shown
    assert "fulfilled yes" in shown
    assert "sales_order_save_commit_after event" in shown
    assert "batch lane, insight import of" in shown and "into Orders" in shown
    assert "import " in shown and "accepted" in shown
    assert email not in shown  # the trace masks what it shows of a person


def test_trace_shows_where_a_failed_order_stopped_and_why(played: Played) -> None:
    _, number = played.orders["invalid"]

    code, shown = cartwright(played.stack, "trace", "order", number)

    assert code == 1, shown
    assert (
        f"order {number} has not reached Dotdigital: it stopped at dead-lettered: invalid_email"
        in shown
    )
    assert "Commerce holds order " + number in shown
    assert "Orders record none: its email is not a valid address" in shown


def test_a_replay_after_the_fix_resolves_the_refused_enrolment(played: Played) -> None:
    refused = played.orders["refused"][1]
    subject = f"order {refused} (order_fulfilled)"

    code, output = cartwright(
        played.stack,
        "replay",
        "--dead-letters",
        "--reason",
        "dotdigital_rejected",
        "--id",
        refused,
        "--yes",
    )
    assert code == 0, output

    def resolved() -> str | None:
        _, table = cartwright(played.stack, "exceptions", "--subject", refused)
        line = next((line for line in table.splitlines() if subject in line), "")
        return line if "resolved" in line else None

    eventually(resolved, timeout=90, what=f"{subject} resolved")
    code, shown = cartwright(played.stack, "exceptions", "--open")
    assert subject not in shown


def test_trace_during_an_outage_says_the_write_waits_in_the_sink(played: Played) -> None:
    stack = played.stack
    email = f"outage.{uuid.uuid4().hex[:6]}@example.com"
    stack.dotdigital.admin("faults", {"error_rate": 1.0, "error_status": 503})
    try:
        number = fulfilled(stack, email)

        def issued(records: list[dict[str, Any]]) -> bool:
            return any(r["value"]["command"].get("subject") == f"order {number}" for r in records)

        read_topic(stack.bootstrap, WRITES, issued, timeout=90)
        code, shown = cartwright(stack, "trace", "order", number)
        assert code == 1, shown
        assert (
            f"order {number} has not reached Dotdigital yet: its write is waiting in the sink"
            in shown
        )
    finally:
        stack.dotdigital.admin("faults", {})
    landed(stack, email, number)

    code, shown = cartwright(stack, "trace", "order", number)
    assert code == 0 and f"order {number} is in Dotdigital" in shown


def test_metrics_time_the_path_from_the_webhook_to_dotdigital_per_lane(played: Played) -> None:
    text = httpx.get(f"{played.stack.worker_url}/metrics", timeout=10).text
    families = {family.name: family for family in text_string_to_metric_families(text)}

    samples = {
        (sample.name, sample.labels.get("lane")): sample.value
        for sample in families["cartwright_webhook_to_dotdigital_seconds"].samples
    }
    # Every order of the fixture was received by the webhook and written on the batch lane.
    assert samples["cartwright_webhook_to_dotdigital_seconds_count", "batch"] >= 4
    assert samples["cartwright_webhook_to_dotdigital_seconds_sum", "batch"] > 0


RUNBOOK = Path(__file__).parents[2] / "docs" / "runbook.md"
# Exit codes a runbook command may end with: a trace or a reconciliation says "not there" with 1.
ANSWERS_NO = {"trace": {0, 1}, "reconcile": {0, 1}}
INLINE = re.compile(r"`(cartwright [^`]+)`")


def runbook_commands() -> list[list[str]]:
    """Every `cartwright …` command of the runbook, in its shell blocks and in its text."""
    commands: list[list[str]] = []
    in_block = False
    for line in RUNBOOK.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("```"):
            in_block = line.strip() == "```sh"
            continue
        if in_block and line.strip().startswith("cartwright "):
            commands.append(shlex.split(line.strip())[1:])
        elif not in_block:
            commands += [shlex.split(span)[1:] for span in INLINE.findall(line)]
    return [list(command) for command in dict.fromkeys(map(tuple, commands))]


def test_every_command_of_the_runbook_runs_against_the_stack(played: Played) -> None:
    email, number = played.orders["good"]
    today = datetime.now(UTC).date()
    # The runbook's examples, as this stack names them.
    examples = {
        "000000123": number,
        "<number>": number,
        "ada@example.com": email,
        "<email>": email,
        "2026-12-01T08:00": f"{today}T00:00",
        "2026-12-01T16:00": f"{today + timedelta(days=1)}T00:00",
        "2026-12-01": str(today),
        "2026-12-02": str(today + timedelta(days=1)),
    }
    commands = runbook_commands()
    assert {command[0] for command in commands} >= {"exceptions", "trace", "reconcile", "replay"}

    for command in commands:
        args = [examples.get(arg, arg) for arg in command]
        code, output = cartwright(played.stack, *args)
        assert code in ANSWERS_NO.get(args[0], {0}), f"cartwright {' '.join(command)}:\n{output}"
        assert "Traceback" not in output, output
    # The page the daily checks open first answers with the sections they name.
    page = httpx.get(f"{played.stack.worker_url}/ops/", timeout=30).text
    for section in ("Health", "Early warnings", "Lag per stage", "Drift"):
        assert section in page, section
    assert ":6066/ops/" in RUNBOOK.read_text(encoding="utf-8")
