"""Drill 3, dead letters after a fix: post-purchase enrolments into programs a marketer left
inactive are refused by Dotdigital (422 ERROR_PROGRAM_NOT_ACTIVE) and dead-lettered; once the
programs are active, `cartwright replay --dead-letters --reason dotdigital_rejected` puts them
back and every contact is enrolled exactly once per program; a second run puts back none."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.commerce.simulator.store import Store
from schemas.contract.topics import DEADLETTER, REPLAYED, WRITES
from tests.support.accounts import CLIENT_ID
from tests.support.stack import (
    FIRST_ORDER_PROGRAM,
    ORDER_FULFILLED_PROGRAM,
    Stack,
    accepted,
    enrolments_of,
    eventually,
    read_all,
    read_topic,
    running_stack,
    start_cli,
)

pytestmark = pytest.mark.integration

ORDERS = 3
PROGRAMS = (ORDER_FULFILLED_PROGRAM, FIRST_ORDER_PROGRAM)
# Every guest's first order, fulfilled, asks for both programs.
REFUSED = ORDERS * len(PROGRAMS)
REPLAY = ["replay", "--dead-letters", "--reason", "dotdigital_rejected"]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("drill-dead-letters")


@pytest.fixture(scope="module")
def stack(logs: Path) -> Iterator[Stack]:
    with running_stack(
        logs,
        CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5",
        CARTWRIGHT_PROGRAMS__ORDER_FULFILLED=str(ORDER_FULFILLED_PROGRAM),
        CARTWRIGHT_PROGRAMS__FIRST_ORDER=str(FIRST_ORDER_PROGRAM),
    ) as running:
        yield running


def programs(stack: Stack, *, active: bool) -> None:
    stack.dotdigital.admin("programs", {"programs": {str(p): active for p in PROGRAMS}})


def fulfilled_orders(stack: Stack, count: int) -> dict[str, str]:
    """Guests' first orders, invoiced and shipped, delivered to the worker: email → number."""
    shop = Store(seed=uuid.uuid4().int % 10_000, client_id=CLIENT_ID)
    orders: dict[str, str] = {}
    for n in range(count):
        email = f"drill3.{n}.{uuid.uuid4().hex[:8]}@example.com"
        start = len(shop.events)
        order = shop.place_order(
            shop.guest(email, "Grace", "Hopper"), [shop.catalogue.line("24-UG06", 1)]
        )
        shop.clock.advance(60)
        shop.invoice(order)
        shop.clock.advance(60)
        shop.ship(order)
        for event in list(shop.events)[start:]:
            accepted(stack.deliver(event))
        orders[email] = order.increment_id
    return orders


def refused_enrolments(stack: Stack, emails: set[str]) -> list[dict[str, Any]]:
    """The dead letters of these contacts' refused enrolments, once all are there."""

    def mine(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            r["value"]
            for r in records
            if r["value"]["reason"] == "dotdigital_rejected" and r["key"] in emails
        ]

    records = read_topic(stack.bootstrap, DEADLETTER, lambda seen: len(mine(seen)) >= REFUSED, 120)
    return mine(records)


def replay(stack: Stack, logs: Path, name: str, *args: str, **env: str) -> str:
    """Run `cartwright replay` as an operator would, against the stack's broker; its output."""
    process = start_cli(name, [*REPLAY, *args], {**stack.env, **env}, logs)
    code = process.popen.wait(timeout=120)
    output = process.log.read_text()
    assert code == 0, output
    return output


def lines_of(output: str) -> set[str]:
    return {" ".join(line.split()) for line in output.splitlines()}


def all_enrolments(stack: Stack) -> Counter[tuple[int, int]]:
    """(program, contact id) → how many times Dotdigital enrolled the contact into it."""
    found: Counter[tuple[int, int]] = Counter()
    for enrolment in stack.dotdigital.admin("enrolments")["enrolments"]:
        for contact in enrolment["contacts"]:
            found[(enrolment["programId"], contact)] += 1
    return found


def test_dead_lettered_enrolments_land_once_after_the_fix(stack: Stack, logs: Path) -> None:
    # The incident: a marketer left the post-purchase programs inactive.
    programs(stack, active=False)
    orders = fulfilled_orders(stack, ORDERS)
    letters = refused_enrolments(stack, set(orders))
    assert len(letters) == REFUSED
    assert all(letter["source_topic"] == WRITES for letter in letters)
    assert all("ERROR_PROGRAM_NOT_ACTIVE" in letter["detail"] for letter in letters)
    assert all(enrolments_of(stack, email) == [] for email in orders)

    # The operator looks first: the dry run names the counts and writes nothing.
    dry = lines_of(replay(stack, logs, "replay-dry-run", "--dry-run"))
    assert f"dry run: {REFUSED} dead letters would be replayed; nothing was written" in dry
    assert f"dotdigital_rejected {REFUSED} 0 0" in dry
    assert f"{WRITES} {REFUSED} 0 0" in dry
    assert not any(email in line for line in dry for email in orders)  # masked
    # More than the confirmation limit without --yes: only the dry run again.
    held = lines_of(
        replay(stack, logs, "replay-held", CARTWRIGHT_REPLAY__CONFIRM_ABOVE=str(REFUSED - 1))
    )
    assert any("this was only a dry run, nothing was written" in line for line in held)
    assert read_all(stack.bootstrap, REPLAYED, quiet=1.0) == []

    # The fix. The operator tries one order first, by its number, then the rest.
    programs(stack, active=True)
    (tried, number), *_ = orders.items()
    one = lines_of(replay(stack, logs, "replay-one", "--id", number))
    assert any(line.startswith("replayed 2 dead letters") for line in one), one
    eventually(
        lambda: enrolments_of(stack, tried) == sorted(PROGRAMS),
        timeout=120,
        what="the tried order's contact enrolled in both programs",
    )
    rest = lines_of(replay(stack, logs, "replay-rest"))
    assert any(line.startswith(f"replayed {REFUSED - 2} dead letters") for line in rest), rest
    assert "already replayed (marked) 2" in rest
    eventually(
        lambda: all(enrolments_of(stack, email) == sorted(PROGRAMS) for email in orders),
        timeout=120,
        what="every contact enrolled in both programs after the replay",
    )
    marks = read_all(stack.bootstrap, REPLAYED, quiet=1.0)
    assert len(marks) == REFUSED
    assert {m["key"] for m in marks} == {
        f"deadletter:{m['value']['dead_letter_partition']}:{m['value']['dead_letter_offset']}"
        for m in marks
    }

    # A second run puts back none, and Dotdigital is left as it was.
    second = lines_of(replay(stack, logs, "replay-2"))
    assert any(line.startswith("replayed 0 dead letters") for line in second), second
    assert f"already replayed (marked) {REFUSED}" in second
    assert len(read_all(stack.bootstrap, REPLAYED, quiet=1.0)) == REFUSED

    # A marker order after both runs: once it is enrolled, the lane has written everything before.
    (marker,) = fulfilled_orders(stack, 1)
    eventually(
        lambda: enrolments_of(stack, marker) == sorted(PROGRAMS),
        timeout=120,
        what="the marker's enrolments",
    )
    enrolled = all_enrolments(stack)
    assert set(enrolled.values()) == {1}  # nobody twice in a program
    assert len(enrolled) == REFUSED + len(PROGRAMS)  # every dead-lettered one, and the marker's
