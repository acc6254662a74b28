"""`cartwright reconcile` on the real stack: after store traffic with refunds has settled it finds
nothing; after drift is planted in Dotdigital behind the integration's back (a deleted Orders
record, a changed order total, a deleted Refunds record) it finds exactly that drift, each
finding an exception record naming the record and its fix."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.commerce.model.orders import Order
from sandbox.commerce.simulator.store import Store
from schemas.contract.topics import EXCEPTIONS
from schemas.dotdigital.orders import ORDERS_COLLECTION
from schemas.dotdigital.refunds import REFUNDS_COLLECTION
from tests.support.groups import behind
from tests.support.scenario import APP, PIPELINE
from tests.support.stack import Stack, eventually, read_all, running_stack

pytestmark = pytest.mark.integration

SKUS = ("24-MB01", "24-UG06", "24-WG02")


@dataclass
class Traffic:
    """What the store did: order numbers by buyer, credit memo numbers by buyer, last states."""

    orders: dict[str, list[str]] = field(default_factory=dict)
    refunds: dict[str, list[str]] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)


def play(stack: Stack, shoppers: int = 8) -> Traffic:
    """Registered and guest shoppers; orders invoiced, shipped, refunded in part or in full,
    one cancelled; every change at the store's (wall) clock, its events delivered signed."""
    traffic = Traffic()

    def shop(store: Store, n: int) -> list[Order]:
        email = f"reconcile.{n:02d}@example.com"
        shopper: Any = (
            store.register(email, "Ada", f"R{n}") if n % 2 else store.guest(email, "Grace", f"R{n}")
        )
        line = store.catalogue.line
        placed = [store.place_order(shopper, [line(SKUS[n % 3], 2)])]
        if n % 4 == 3:
            placed.append(store.place_order(shopper, [line(SKUS[(n + 1) % 3], 1)]))
        return placed

    for n in range(shoppers):
        placed = stack.commerce.act(lambda store, n=n: shop(store, n))  # type: ignore[misc]
        email = f"reconcile.{n:02d}@example.com"
        traffic.orders[email] = [order.increment_id for order in placed]
        first = placed[0]
        stack.commerce.act(lambda store, o=first: store.invoice(o))  # type: ignore[misc]
        if n % 4 in (1, 2):
            stack.commerce.act(lambda store, o=first: store.ship(o))  # type: ignore[misc]
        if n % 4 == 1:  # one of the two items back, after shipping
            memo = stack.commerce.act(
                lambda store, o=first, n=n: _refund(store, o, {SKUS[n % 3]: 1})  # type: ignore[misc]
            )
            traffic.refunds.setdefault(email, []).append(memo)
        if n % 4 == 0:  # all of it, never shipped
            memo = stack.commerce.act(lambda store, o=first: _refund(store, o, None))  # type: ignore[misc]
            traffic.refunds.setdefault(email, []).append(memo)
        if n % 4 == 3:
            stack.commerce.act(lambda store, o=placed[1]: store.cancel(o))  # type: ignore[misc]
    traffic.states = stack.commerce.act(
        lambda store: {o.increment_id: o.state for o in store.orders.values()}
    )
    return traffic


def _refund(store: Store, order: Order, items: dict[str, int] | None) -> str:
    store.refund(order, items=items)
    return max(store.creditmemos.values(), key=lambda m: m.entity_id).increment_id


def settled(stack: Stack, traffic: Traffic) -> bool:
    """Dotdigital holds every order in its last state and every credit memo, and the worker
    has committed everything on its way."""
    contacts = {
        c["identifiers"]["email"]: c["insight"]
        for c in stack.dotdigital.admin("contacts")["contacts"]
    }
    for email, numbers in traffic.orders.items():
        insight = contacts.get(email, {})
        orders = {r["key"]: r["json"] for r in insight.get(ORDERS_COLLECTION, [])}
        if {k: orders.get(k, {}).get("orderState") for k in numbers} != {
            k: traffic.states[k] for k in numbers
        }:
            return False
        refunds = {r["key"] for r in insight.get(REFUNDS_COLLECTION, [])}
        if refunds != set(traffic.refunds.get(email, [])):
            return False
    return not behind(stack.bootstrap, APP, PIPELINE)


@dataclass
class Run:
    code: int
    output: str
    seconds: float


def reconcile(stack: Stack, since: datetime, until: datetime) -> Run:
    """`cartwright reconcile` as an operator runs it, against the stack."""
    started = time.monotonic()
    window = ("--since", since.isoformat(), "--until", until.isoformat(), "--settle", "0")
    done = run_cli(stack, "reconcile", *window)
    return Run(done.returncode, done.stdout, time.monotonic() - started)


def run_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """A `cartwright` command as an operator runs it, against the stack."""
    done = subprocess.run(
        [sys.executable, "-m", "streams", *args],
        env={**stack.env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(done.stdout, done.stderr[-3000:])
    return done


def _at_least(records: list[dict[str, Any]], count: int) -> list[dict[str, Any]] | None:
    return records if len(records) >= count else None


def drift_records(stack: Stack) -> list[dict[str, Any]]:
    exceptions = read_all(stack.bootstrap, EXCEPTIONS)
    return [e["value"] for e in exceptions if str(e["value"]["reason"]).startswith("drift_")]


def test_reconcile_finds_exactly_the_drift_planted_in_dotdigital(tmp_path: Path) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    with running_stack(tmp_path, CARTWRIGHT_ORDERS__BATCH_INTERVAL="0.5") as stack:
        traffic = play(stack)
        eventually(lambda: settled(stack, traffic), timeout=180, what="the traffic in Dotdigital")
        until = datetime.now(UTC) + timedelta(minutes=1)

        clean = reconcile(stack, since, until)
        assert clean.code == 0, clean.output
        assert drift_records(stack) == []
        orders = sum(len(v) for v in traffic.orders.values())
        assert f"compared {orders} orders, {sum(map(len, traffic.refunds.values()))} refunds" in (
            clean.output
        )

        # Drift nobody at Cartwright caused: edits in Dotdigital itself.
        refunded_in_full = "reconcile.00@example.com"
        deleted_order = traffic.orders["reconcile.02@example.com"][0]
        changed_email = "reconcile.05@example.com"
        changed_order = traffic.orders[changed_email][0]
        deleted_refund = traffic.refunds[refunded_in_full][0]
        stack.dotdigital.admin(
            "contacts/reconcile.02@example.com/insight/delete",
            {"collection": ORDERS_COLLECTION, "key": deleted_order},
        )
        stack.dotdigital.admin(
            f"contacts/{refunded_in_full}/insight/delete",
            {"collection": REFUNDS_COLLECTION, "key": deleted_refund},
        )
        record = stack.dotdigital.record(changed_email, ORDERS_COLLECTION, changed_order)
        assert record is not None
        wrong = {**record["json"], "orderTotal": 1.0, "netTotal": 1.0}
        path = f"/insightData/v3/contacts/email/{changed_email}/{ORDERS_COLLECTION}/{changed_order}"
        assert stack.dotdigital.api.put(path, json=wrong).status_code == 204

        drifted = reconcile(stack, since, until)
        assert drifted.code == 1, drifted.output
        found: list[dict[str, Any]] = eventually(
            lambda: _at_least(drift_records(stack), 3),
            timeout=30,
            what="the findings on the exceptions topic",
        )
        assert sorted((r["reason"], r["subject"]) for r in found) == sorted(
            [
                ("drift_missing", f"order {deleted_order}"),
                ("drift_mismatch", f"order {changed_order}"),
                (
                    "drift_missing",
                    f"refund {deleted_refund} of order {traffic.orders[refunded_in_full][0]}",
                ),
            ]
        )
        by_subject = {r["subject"]: r for r in found}
        assert (
            f"cartwright replay --id {deleted_order}"
            in by_subject[f"order {deleted_order}"]["message"]
        )
        mismatch = by_subject[f"order {changed_order}"]
        assert "orderTotal" in mismatch["message"] and "1.0 in Dotdigital" in mismatch["message"]
        assert mismatch["email"] == changed_email

        # The fix each finding names repairs it: replay the three orders, then nothing drifts.
        refunded_order = traffic.orders[refunded_in_full][0]
        replay = run_cli(
            stack, "replay", *(f"--id={n}" for n in (deleted_order, changed_order, refunded_order))
        )
        assert replay.returncode == 0, replay.stdout
        eventually(lambda: repaired(stack, changed_email, changed_order), what="the replay")
        eventually(lambda: settled(stack, traffic), timeout=120, what="the replayed records")
        again = reconcile(stack, since, until)
        assert again.code == 0, again.output
        print(
            f"clean run {clean.seconds:.1f} s, drifted run {drifted.seconds:.1f} s, "
            f"after the replay {again.seconds:.1f} s"
        )


def repaired(stack: Stack, email: str, number: str) -> bool:
    record = stack.dotdigital.record(email, ORDERS_COLLECTION, number)
    return record is not None and record["json"]["orderTotal"] != 1.0
