"""What the benchmarks share: free ports, waiting for a child to answer or to go idle, percentiles,
peak RSS and CPU time."""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every process, the last started first, and kill any not gone within 20 s."""
    for process in reversed(processes):
        process.send_signal(signal.SIGTERM)
    for process in reversed(processes):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for(check: Callable[[], object], what: str, timeout: float = 90) -> None:
    """Poll `check` until it answers truthy; a child that is still starting may refuse or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)  # polling a child process we started; nothing to await
    raise RuntimeError(f"{what} did not come up")


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of sorted `values`, rounded to the millisecond."""
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(share * len(values)) - 1))
    return round(values[index], 3)


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) the process has used so far; OSError once it is
    gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # After the command name: state is field 3, utime 14 and stime 15 (man 5 proc); fields[0]
    # here is the 3rd.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_times(pids: dict[str, int | None]) -> dict[str, float | None]:
    """`cpu_seconds` of each named process; None for one without a pid or already gone."""
    times: dict[str, float | None] = {}
    for name, pid in pids.items():
        try:
            times[name] = cpu_seconds(pid) if pid else None
        except (OSError, IndexError, ValueError):
            times[name] = None
    return times


def wait_idle(
    pid: int, *, below: float = 0.1, quiet_for: float = 2.0, timeout: float = 300
) -> float:
    """Wait until the process uses less than `below` of a core for `quiet_for` seconds (its
    agents have caught up with what it took in); answers the seconds waited."""
    started = last_at = time.monotonic()
    last = cpu_seconds(pid)
    quiet_since: float | None = None
    while time.monotonic() - started < timeout:
        time.sleep(0.5)  # sampling a child's CPU counters; nothing to await
        now, used = time.monotonic(), cpu_seconds(pid)
        busy = (used - last) / (now - last_at)
        last, last_at = used, now
        if busy >= below:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet_for:
            return round(now - started, 1)
    raise RuntimeError(f"process {pid} was still busy after {timeout:g} s")


def figures(latencies: list[float]) -> dict[str, Any]:
    """Count, p50, p95, p99 and max of `latencies` (seconds, rounded to the millisecond)."""
    latencies = sorted(latencies)
    return {
        "count": len(latencies),
        "p50_seconds": percentile(latencies, 0.50),
        "p95_seconds": percentile(latencies, 0.95),
        "p99_seconds": percentile(latencies, 0.99),
        "max_seconds": round(latencies[-1], 3) if latencies else None,
    }


def report_header(benchmark: str) -> dict[str, Any]:
    """What every benchmark report opens with: its name, when it ran, and on what machine."""
    return {
        "benchmark": benchmark,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
