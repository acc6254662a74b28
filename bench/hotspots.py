"""Where a running worker spends its time: py-spy samples of its pid, grouped by what the code does.

py-spy reads the process's memory from outside (no change to the worker, no restart); each sample
is one thread's Python stack, idle threads left out, so the shares below are of the time the
worker's threads were running Python, not of wall-clock time. Native code (orjson, RSA in
OpenSSL) shows as the Python function that called it.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SAMPLES_PER_SECOND = 100
TOP = 10
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# What each group holds, tried from a sample's innermost frame outwards; the first frame that
# matches names the group. `webhook_only` groups count only inside a webhook request (pydantic
# and JSON run in the agents too, and there they are the agents' work).
WEBHOOK = "streams/sources/webhook.py"


@dataclass(frozen=True)
class Group:
    name: str
    files: tuple[str, ...]
    webhook_only: bool = False
    functions: tuple[str, ...] = ()

    def holds(self, function: str, file: str, in_webhook: bool) -> bool:
        if self.webhook_only and not in_webhook:
            return False
        if self.functions and not function.startswith(self.functions):
            return False
        return file.startswith(self.files) or any(f"/{part}" in file for part in self.files)


GROUPS = (
    Group("logging", ("logging/",)),
    Group("signature verification", ("connectors/adobe_io/signature.py", "cryptography/")),
    Group(
        "JSON parse / validate",
        ("streams/sources/deliveries.py", "schemas/", "pydantic/", "pydantic_core/", "json/"),
        webhook_only=True,
    ),
    Group("de-duplication", ("streams/sources/recent_ids.py", "streams/sources/seeding.py")),
    Group(
        "Kafka produce / ack wait",
        (
            "streams/sources/raw_publisher.py",
            "aiokafka/producer/",
            "faust/topics.py",
            "faust/channels.py",
            "faust/transport/producer.py",
        ),
    ),
    Group(
        "Kafka produce / ack wait",
        ("faust/transport/drivers/aiokafka.py",),
        functions=("Producer.", "ProducerBuffer."),
    ),
    Group(
        "HTTP server",
        (
            "aiohttp/",
            "faust/web/",
            "streams/sources/webhook.py",
            "streams/sources/intake.py",
            "multidict/",
            "yarl/",
        ),
    ),
    Group(
        "agents (normalize, join, sinks)",
        (
            "streams/process/",
            "streams/sinks/",
            "faust/agents/",
            "faust/streams.py",
            "faust/tables/",
            "faust/stores/",
            "connectors/dotdigital/",
            "httpx/",
            "httpcore/",
        ),
    ),
    Group(
        "Kafka consume / fetch",
        (
            "aiokafka/consumer/",
            "faust/transport/consumer.py",
            "faust/transport/drivers/aiokafka.py",
        ),
    ),
)
# Frames shared by several groups (a broker connection serves the producer and the consumer;
# the event loop runs everything): counted here only when no frame of the sample is in a group.
FALLBACKS = (
    Group("Kafka client, other", ("aiokafka/",)),
    Group("event loop", ("asyncio/", "selectors.py", "uvloop/")),
)
OTHER = "other (Faust and mode runtime, timers)"
OWN = ("streams/", "schemas/", "connectors/")
ENTRY = ("streams/cli/", "streams/__main__.py")


def _frames(stack: str) -> list[tuple[str, str]]:
    """(function, file) of each frame, outermost first."""
    frames = []
    for text in stack.split(";"):
        found = _FRAME.match(text)
        frames.append((found["function"], found["file"]) if found else (text, ""))
    return frames


def group_of(frames: list[tuple[str, str]]) -> str:
    """The group of one sample: its innermost frame that some group holds."""
    in_webhook = any(WEBHOOK in file for _, file in frames)
    for groups in (GROUPS, FALLBACKS):
        for function, file in reversed(frames):
            for group in groups:
                if group.holds(function, file, in_webhook):
                    return group.name
    return OTHER


def own_module_of(frames: list[tuple[str, str]]) -> str:
    """Which part of Cartwright the sample was working for: its outermost frame in our packages
    below the command line (an agent, the webhook's view, a timer)."""
    for _, file in frames:
        for package in OWN:
            at = file.find(package)
            if (at == 0 or (at > 0 and file[at - 1] == "/")) and not file[at:].startswith(ENTRY):
                return file[at:]
    return "(none of ours: Faust, mode, aiokafka, asyncio)"


def summarize(raw: str, seconds: float) -> dict[str, Any]:
    """The report's profile from py-spy's raw output (`stack count` per line)."""
    groups: Counter[str] = Counter()
    webhook_groups: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    webhook = 0
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        total += count
        group = group_of(frames)
        groups[group] += count
        function, file = frames[-1]
        functions[f"{function} ({file})"] += count
        modules[own_module_of(frames)] += count
        if any(WEBHOOK in f for _, f in frames):
            webhook += count
            webhook_groups[group] += count

    def share(count: int) -> float:
        return round(count / total, 4) if total else 0.0

    return {
        "samples": total,
        "seconds": round(seconds, 1),
        "samples_per_second": SAMPLES_PER_SECOND,
        "webhook_request_share": share(webhook),
        "groups": [{"group": name, "share": share(n)} for name, n in groups.most_common()],
        # The same shares (of all samples), counting only the webhook's requests.
        "webhook_groups": [
            {"group": name, "share": share(n)} for name, n in webhook_groups.most_common()
        ],
        "top_functions": [
            {"function": name, "self_share": share(n)} for name, n in functions.most_common(TOP)
        ],
        # Each sample under the outermost of our modules it ran in (which agent, which view).
        "top_own_modules": [
            {"module": name, "share": share(n)} for name, n in modules.most_common(TOP)
        ],
    }


class Recording:
    """`py-spy record` on a pid from `start` to `stop`; `stop` answers the summary, or why
    there is none (py-spy missing, or not allowed to read the process)."""

    def __init__(self, pid: int, out: Path, clock: Callable[[], float]) -> None:
        self._pid = pid
        self._out = out
        self._clock = clock
        self._process: subprocess.Popen[str] | None = None
        self._started = 0.0
        self.error: str | None = None

    def start(self) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(spy).exists():
            self.error = "py-spy is not installed (make install)"
            return
        command = [spy, "record", "--pid", str(self._pid), "--rate", str(SAMPLES_PER_SECOND)]
        command += ["--format", "raw", "--output", str(self._out)]
        self._process = subprocess.Popen(  # noqa: S603 - py-spy from our venv, fixed arguments
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self._process.stdout is not None
        # Its first line says it is sampling (or why it cannot): the load starts after it.
        first = self._process.stdout.readline()
        if "Sampling" not in first:
            self.error = (first + self._process.stdout.read()).strip()[:500]
            self._process.wait()
            self._process = None
            return
        self._started = self._clock()

    def stop(self) -> dict[str, Any]:
        if self._process is None:
            return {"error": self.error or "py-spy did not start"}
        seconds = self._clock() - self._started
        self._process.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        output, _ = self._process.communicate(timeout=60)
        if not self._out.exists():
            return {"error": output.strip()[-500:]}
        return {"tool": "py-spy record", **summarize(self._out.read_text(), seconds)}


def table(profile: dict[str, Any]) -> Table:
    """The summary as one table: the groups, then the top functions by their own time."""
    title = f"worker profile: {profile['samples']:,} samples in {profile['seconds']} s"
    shown = Table(title=title)
    shown.add_column("where the time goes")
    shown.add_column("share", justify="right")
    shown.add_column("in webhook requests", justify="right")
    in_webhook = {row["group"]: row["share"] for row in profile["webhook_groups"]}
    for row in profile["groups"]:
        inside = in_webhook.get(row["group"])
        shown.add_row(
            row["group"],
            f"{100 * row['share']:.1f} %",
            f"{100 * inside:.1f} %" if inside else "",
        )
    shown.add_row("(all)", "100 %", f"{100 * profile['webhook_request_share']:.1f} %")
    shown.add_section()
    for row in profile["top_functions"]:
        shown.add_row(row["function"], f"{100 * row['self_share']:.1f} %", "")
    shown.add_section()
    for row in profile["top_own_modules"]:
        shown.add_row(f"in {row['module']}", f"{100 * row['share']:.1f} %", "")
    return shown


def show(profile: dict[str, Any]) -> None:
    if "error" in profile:
        print(f"no profile: {profile['error']}", file=sys.stderr)
        return
    Console().print(table(profile))
