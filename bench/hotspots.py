"""Where a sampled worker spends its time: py-spy's collapsed stacks → top functions and groups.

`py-spy record --format raw` writes one line per distinct stack, root first, frames as
`function (path:line)` joined by `;`, then the number of samples. Each sample is CPU time of one
thread (idle threads are not sampled). Own time is the innermost frame's; cumulative time counts
a sample once for every function on its stack. Groups sort each sample by what it was doing, so
the shares add up to 100 %.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")

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


def group_of(frames: list[Frame]) -> str:
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


def stage_of(frames: list[Frame]) -> str:
    for frame in frames:
        if frame.path.startswith(_RUNNERS):
            continue
        for stage, marks in _STAGES:
            if frame.path.startswith(marks):
                return stage
    return NO_AGENT


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


def _share(count: int, total: int) -> float:
    return round(100 * count / total, 1) if total else 0.0


def _rows(
    counts: Counter[str], total: int, key: str, top: int | None = None
) -> list[dict[str, Any]]:
    return [
        {key: name, "samples": count, "percent": _share(count, total)}
        for name, count in counts.most_common(top)
    ]


def summary(raw: str, top: int = 10) -> dict[str, Any]:
    """The samples by group and by agent, the `top` functions by own and by cumulative time,
    and the `top` places that parse or serialise (percent of all samples)."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    parses: Counter[str] = Counter()
    total = 0
    for frames, count in stacks(raw):
        total += count
        own[frames[-1].name] += count
        for name in {frame.name for frame in frames if not frame.path.startswith(_RUNNERS)}:
            cumulative[name] += count
        group = group_of(frames)
        groups[group] += count
        stages[stage_of(frames)] += count
        if group == PARSE:
            parses[parse_site(frames)] += count
    return {
        "samples": total,
        "groups": _rows(groups, total, "group"),
        "agents": _rows(stages, total, "agent"),
        "top_own": _rows(own, total, "function", top),
        "top_cumulative": _rows(cumulative, total, "function", top),
        "parse_sites": _rows(parses, total, "site", top),
    }


def summarise(path: Path, top: int = 10) -> dict[str, Any]:
    return summary(path.read_text(errors="replace"), top)
