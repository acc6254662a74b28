"""Backfill of 50,000 orders through REST: killed halfway, resumed, nothing twice, bounded memory."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from sandbox.broker import EmbeddedBroker
from tests.support.accounts import BEARER
from tests.support.stack import base_env, eventually, free_port, read_all, start_cli

pytestmark = pytest.mark.integration

HISTORY_ORDERS = 50_000
RSS_LIMIT_MB = 300


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    logs = tmp_path_factory.mktemp("backfill-logs")
    with EmbeddedBroker(port=free_port()) as broker:
        port = free_port()
        env = base_env(
            CARTWRIGHT_KAFKA__BOOTSTRAP=broker.bootstrap,
            CARTWRIGHT_KAFKA__PARTITIONS="4",
            CARTWRIGHT_COMMERCE__BASE_URL=f"http://127.0.0.1:{port}",
        )
        sandbox = start_cli(
            "commerce",
            [
                "sandbox",
                "commerce",
                "--port",
                str(port),
                "--no-traffic",
                "--history-orders",
                str(HISTORY_ORDERS),
            ],
            env,
            logs,
        )
        try:
            eventually(
                lambda: _answers(f"http://127.0.0.1:{port}/_sandbox/status"),
                timeout=180,
                what="the store with its history",
            )
            yield broker.bootstrap, env
        finally:
            sandbox.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _orders_in_store(env: dict[str, str]) -> int:
    base = env["CARTWRIGHT_COMMERCE__BASE_URL"]
    answer = httpx.get(
        f"{base}/rest/default/V1/orders",
        params={"searchCriteria[pageSize]": "1"},
        headers=BEARER,
        timeout=30,
    ).json()
    total: int = answer["total_count"]
    return total


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def test_backfill_resumes_after_being_killed_halfway_without_duplicates(
    store: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    bootstrap, env = store
    expected = _orders_in_store(env)
    checkpoint = tmp_path / "backfill.json"
    command = [
        sys.executable,
        "-m",
        "streams",
        "backfill",
        "--since",
        "2000-01-01",
        "--entities",
        "orders",
        "--checkpoint",
        str(checkpoint),
    ]

    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peaks = []

    def halfway() -> bool:
        if first.poll() is not None:
            raise AssertionError("the backfill finished before it could be killed")
        peaks.append(_peak_rss_mb(first.pid))
        if not checkpoint.exists():
            return False
        counts = orjson.loads(checkpoint.read_bytes()).get("counts", {})
        return bool(counts.get("orders", 0) >= expected // 2)

    eventually(halfway, timeout=300, what="the backfill to get halfway")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = orjson.loads(checkpoint.read_bytes())["counts"]["orders"]

    second = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, check=True
    )

    resumed = int(re.search(r"orders (\d+)", second.stdout).group(1))  # type: ignore[union-attr]
    second_peak = float(re.search(r"peak RSS: (\d+)", second.stdout).group(1))  # type: ignore[union-attr]
    raw = read_all(bootstrap, "commerce.raw.v1", quiet=3.0)
    ids = Counter(record["value"]["eventid"] for record in raw)
    orders = {record["key"] for record in raw}

    print(
        f"backfill: {expected} orders, killed at {killed_at}, resumed run published {resumed},"
        f" {len(raw)} raw records, peak RSS {max(peaks):.0f} MB then {second_peak:.0f} MB"
    )
    assert resumed < expected - killed_at // 2, "the resumed run started over"
    assert len(orders) == expected
    assert [event_id for event_id, n in ids.items() if n > 1] == []
    assert all(record["value"]["cartwrightorigin"] == "backfill" for record in raw)
    assert max(peaks) < RSS_LIMIT_MB
    assert second_peak < RSS_LIMIT_MB
