"""Where a running worker spends its time: `py-spy record` on its pid, the samples summarised.

py-spy reads the process's memory from outside (no change to the worker, no restart). With
`--format raw` it writes one line per distinct stack, root first, frames as
`function (path:line)` joined by `;`, then the number of samples. Each sample is one thread's
Python stack, idle threads left out, so the shares below are of the time the worker's threads
were running Python, not of wall-clock time. Native code (orjson, pydantic-core, RSA in OpenSSL)
shows as the Python function that called it.

One summary for every benchmark: the samples sorted into groups by what the code was doing
(each benchmark picks the grouping that separates what it measures: `ingest_group` puts the
webhook's request path apart, `pipeline_group` the agents' kinds of work; either way the shares
add up to 100 %), the share inside webhook requests, by agent and by our own module, the top
functions by own and by cumulative time, and who asked for each parse or serialisation.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SAMPLES_PER_SECOND = 100
TOP = 10
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True)
class Frame:
    function: str
    path: str

    @classmethod
    def parse(cls, text: str) -> Frame:
        matched = _FRAME.match(text.strip())
        if matched is None:
            return cls(text.strip(), "")
        return cls(matched.group("function"), matched.group("path"))

    @property
    def name(self) -> str:
        return f"{self.function} ({self.path})" if self.path else self.function


def stacks(raw: str) -> Iterable[tuple[list[Frame], int]]:
    """Each stack (root first) of a raw py-spy file, with its sample count."""
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield [Frame.parse(part) for part in stack.split(";")], int(count)


def _last(function: str) -> str:
    return function.rsplit(".", 1)[-1]


# A grouping names the kind of work of one sample (its frames, root first).
Grouping = Callable[[list[Frame]], str]


# --- bench-ingest's grouping: the webhook's request path apart from the agents ---

# What each group holds, tried from a sample's innermost frame outwards; the first frame that
# matches names the group. `webhook_only` groups count only inside a webhook request (pydantic
# and JSON run in the agents too, and there they are the agents' work).
WEBHOOK = "streams/sources/webhook.py"
INGEST_OTHER = "other (Faust and mode runtime, timers)"


@dataclass(frozen=True)
class Group:
    name: str
    files: tuple[str, ...]
    webhook_only: bool = False
    functions: tuple[str, ...] = ()

    def holds(self, frame: Frame, in_webhook: bool) -> bool:
        if self.webhook_only and not in_webhook:
            return False
        if self.functions and not frame.function.startswith(self.functions):
            return False
        file = frame.path
        return file.startswith(self.files) or any(f"/{part}" in file for part in self.files)


_INGEST_GROUPS = (
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
_INGEST_FALLBACKS = (
    Group("Kafka client, other", ("aiokafka/",)),
    Group("event loop", ("asyncio/", "selectors.py", "uvloop/")),
)


def in_webhook(frames: list[Frame]) -> bool:
    return any(WEBHOOK in frame.path for frame in frames)


def ingest_group(frames: list[Frame]) -> str:
    """bench-ingest's group of one sample: its innermost frame that some group holds."""
    inside = in_webhook(frames)
    for groups in (_INGEST_GROUPS, _INGEST_FALLBACKS):
        for frame in reversed(frames):
            for group in groups:
                if group.holds(frame, inside):
                    return group.name
    return INGEST_OTHER


# --- bench-pipeline's grouping: the agents' path by kind of work ---

LOGGING = "logging"
TABLES = "Faust tables and changelog writes"
PARSE = "JSON parse/validate/serialise (pydantic, orjson)"
KAFKA = "aiokafka consume/produce (requests, socket writes)"
FAUST = "Faust streams, agents, its consumer thread"
OURS = "our code (normalize/join rules, lanes, runtime)"
LOOP = "asyncio event loop (select, scheduling)"
OTHER = "other"

# A sample's group: a logging call or a table write anywhere on the stack decides (both call
# into formatting and producing of their own); otherwise the innermost frame that belongs to one
# of the libraries below, or to our code. asyncio's own frames are looked through (a socket
# write belongs to whoever wrote), up to the loop's `_run_once`: what only the loop does.
# orjson and pydantic-core are native: their time shows in the Python frame that called them,
# so those calls are listed by name.
_ANYWHERE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (LOGGING, ("logging/",)),
    (TABLES, ("faust/tables/", "faust/stores/")),
)
_INNERMOST: tuple[tuple[str, tuple[str, ...]], ...] = (
    (PARSE, ("pydantic/", "pydantic_core/", "json/")),
    (KAFKA, ("aiokafka/", "kafka/")),
    (FAUST, ("faust/", "mode/")),
    (OURS, ("schemas/", "streams/", "connectors/")),
)
_LOOP_PATHS = ("asyncio/", "selectors.py", "uvloop/")
_LOOP_RUNS = ("_run_once", "run_forever", "run_until_complete")
_SERIALISERS = ("encoded", "model_validate_json", "model_dump_json", "model_dump", "loads", "dumps")


def pipeline_group(frames: list[Frame]) -> str:
    """bench-pipeline's group of one sample."""
    for group, marks in _ANYWHERE:
        if any(mark in frame.path for frame in frames for mark in marks):
            return group
    for frame in reversed(frames):
        if any(mark in frame.path for mark in _LOOP_PATHS):
            if _last(frame.function) in _LOOP_RUNS:
                return LOOP
            continue
        if _last(frame.function) in _SERIALISERS:
            return PARSE
        for group, marks in _INNERMOST:
            if any(mark in frame.path for mark in marks):
                return group
    return OTHER


# --- whose work a sample was: which agent, which of our modules, who parsed ---

# Which of the worker's agents a sample ran in: the first of these on its stack (root first).
_STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("normalize agent", ("streams/process/normalize.py",)),
    (
        "join agent",
        (
            "streams/process/join.py",
            "streams/process/joiner.py",
            "streams/process/order_writes.py",
            "streams/process/contact_book.py",
            "streams/process/identity.py",
        ),
    ),
    ("carts agent (reads the orders too)", ("streams/process/carts.py",)),
    ("sink lanes (read the write commands)", ("streams/sinks/",)),
    ("other Cartwright tasks", ("streams/", "connectors/")),
)
NO_AGENT = "no agent on the stack: Faust's consumer and producer, aiokafka, the event loop"
NONE_OF_OURS = "(none of ours: Faust, mode, aiokafka, asyncio)"
# Frames every sample of a thread has (runners): no news in a cumulative list.
_RUNNERS = (
    "asyncio/",
    "selectors.py",
    "threading.py",
    "<frozen runpy>",
    "mode/worker.py",
    "mode/threads.py",
    "streams/__main__.py",
    "streams/cli/",
)
_OWN = ("streams/", "schemas/", "connectors/")
_ENTRY = ("streams/cli/", "streams/__main__.py")


def stage_of(frames: list[Frame]) -> str:
    for frame in frames:
        if frame.path.startswith(_RUNNERS):
            continue
        for stage, marks in _STAGES:
            if frame.path.startswith(marks):
                return stage
    return NO_AGENT


def own_module_of(frames: list[Frame]) -> str:
    """Which part of Cartwright the sample was working for: its outermost frame in our packages
    below the command line (an agent, the webhook's view, a timer)."""
    for frame in frames:
        file = frame.path
        for package in _OWN:
            at = file.find(package)
            if (at == 0 or (at > 0 and file[at - 1] == "/")) and not file[at:].startswith(_ENTRY):
                return file[at:]
    return NONE_OF_OURS


def parse_site(frames: list[Frame]) -> str:
    """Who asked for a parse or serialisation: the nearest caller outside pydantic, with the
    call it made."""
    for index in range(len(frames) - 1, -1, -1):
        frame = frames[index]
        if _last(frame.function) in _SERIALISERS or "pydantic" in frame.path:
            continue
        called = frames[index + 1].function if index + 1 < len(frames) else "?"
        return f"{frame.function} ({frame.path}) → {called}"
    return "?"


# --- the summary ---


def _share(count: int, total: int) -> float:
    return round(100 * count / total, 1) if total else 0.0


def _rows(
    counts: Counter[str], total: int, key: str, top: int | None = None
) -> list[dict[str, Any]]:
    return [
        {key: name, "samples": count, "percent": _share(count, total)}
        for name, count in counts.most_common(top)
    ]


def summary(
    raw: str,
    grouping: Grouping = pipeline_group,
    *,
    seconds: float | None = None,
    top: int = TOP,
) -> dict[str, Any]:
    """The samples by `grouping`'s groups (all of them, and those inside webhook requests), by
    agent and by our own module, the `top` functions by own and by cumulative time, and the
    `top` places that parse or serialise; every percent is of all samples."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    webhook_groups: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    parses: Counter[str] = Counter()
    total = webhook = 0
    for frames, count in stacks(raw):
        total += count
        own[frames[-1].name] += count
        for name in {frame.name for frame in frames if not frame.path.startswith(_RUNNERS)}:
            cumulative[name] += count
        group = grouping(frames)
        groups[group] += count
        if in_webhook(frames):
            webhook += count
            webhook_groups[group] += count
        stages[stage_of(frames)] += count
        modules[own_module_of(frames)] += count
        if pipeline_group(frames) == PARSE:
            parses[parse_site(frames)] += count
    timing = {} if seconds is None else {"seconds": round(seconds, 1)}
    return {
        "samples": total,
        **timing,
        "groups": _rows(groups, total, "group"),
        "webhook_request_percent": _share(webhook, total),
        "webhook_groups": _rows(webhook_groups, total, "group"),
        "agents": _rows(stages, total, "agent"),
        "own_modules": _rows(modules, total, "module", top),
        "top_own": _rows(own, total, "function", top),
        "top_cumulative": _rows(cumulative, total, "function", top),
        "parse_sites": _rows(parses, total, "site", top),
    }


# --- recording ---


class Recording:
    """`py-spy record` on a pid from `start` to `stop`; `summary` answers the samples summarised
    by `grouping`, or why there are none (py-spy missing, or not allowed to read the process).
    `nonblocking` samples without pausing the process (less overhead, a stack now and then
    read mid-change)."""

    def __init__(
        self,
        pid: int,
        out: Path,
        grouping: Grouping,
        *,
        nonblocking: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pid = pid
        self._out = out
        self._grouping = grouping
        self._nonblocking = nonblocking
        self._clock = clock
        self._process: subprocess.Popen[str] | None = None
        self._started = 0.0
        self._seconds: float | None = None
        self.error: str | None = None

    def command(self, spy: str = "py-spy") -> list[str]:
        command = [spy, "record", "--pid", str(self._pid), "--rate", str(SAMPLES_PER_SECOND)]
        command += ["--format", "raw", "--output", str(self._out)]
        return [*command, "--nonblocking"] if self._nonblocking else command

    def start(self) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(spy).exists():
            self.error = "py-spy is not installed (make install)"
            return
        self._process = subprocess.Popen(  # noqa: S603 - py-spy from our venv, fixed arguments
            self.command(spy), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
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

    def stop(self) -> None:
        """Interrupt py-spy, which writes its file on Ctrl-C."""
        if self._process is None:
            return
        self._seconds = self._clock() - self._started
        self._process.send_signal(signal.SIGINT)
        output, _ = self._process.communicate(timeout=60)
        self._process = None
        if not self._out.exists():
            self.error = output.strip()[-500:] or "py-spy wrote no profile"

    def summary(self, top: int = TOP) -> dict[str, Any]:
        if self.error is not None or self._seconds is None or not self._out.exists():
            return {"error": self.error or "py-spy did not run"}
        raw = self._out.read_text(errors="replace")
        return {
            "tool": "py-spy record",
            "samples_per_second": SAMPLES_PER_SECOND,
            **summary(raw, self._grouping, seconds=self._seconds, top=top),
        }


# --- showing it ---

_SECTIONS = (
    ("agents", "in which agent", "agent"),
    ("own_modules", "in which of our modules", "module"),
    ("top_own", "top functions, own time", "function"),
    ("top_cumulative", "top functions, cumulative time", "function"),
    ("parse_sites", "who parses or serialises", "caller → call"),
)


def tables(profile: dict[str, Any]) -> list[Table]:
    """The summary as tables: the groups (with their part inside webhook requests, when there
    were any), then each other breakdown."""
    took = f" in {profile['seconds']} s" if "seconds" in profile else ""
    counted = f"{profile['samples']:,} samples{took}"
    groups = Table(title=f"where the worker's CPU went ({counted})")
    groups.add_column("doing what")
    groups.add_column("%", justify="right")
    inside = {row["group"]: row["percent"] for row in profile.get("webhook_groups", [])}
    if inside:
        groups.add_column("in webhook requests %", justify="right")
    for row in profile["groups"]:
        cells = [row["group"], f"{row['percent']:.1f}"]
        groups.add_row(*cells, *([f"{inside.get(row['group'], 0.0):.1f}"] if inside else []))
    if inside:
        groups.add_row("(all)", "100.0", f"{profile['webhook_request_percent']:.1f}")
    shown = [groups]
    for key, title, label in _SECTIONS:
        if not profile.get(key):
            continue
        table = Table(title=title)
        table.add_column(label)
        table.add_column("%", justify="right")
        for row in profile[key]:
            table.add_row(str(next(iter(row.values()))), f"{row['percent']:.1f}")
        shown.append(table)
    return shown


def show(profile: dict[str, Any], console: Console | None = None) -> None:
    if "error" in profile:
        print(f"no profile: {profile['error']}", file=sys.stderr)
        return
    console = console or Console()
    for table in tables(profile):
        console.print(table)
