"""A window replay: the selected records of a topic read, then put back on it with the replay
header, resumable from a checkpoint after Ctrl-C or a crash."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaProducer

from schemas.contract.replay import REPLAY_HEADER
from schemas.contract.topics import RAW
from schemas.replay.selection import Picked, Selection, in_partitions, last_of_each, pick
from streams.runtime.catch_up import Record, read_to_end
from streams.settings import Settings
from streams.sources.checkpoint import FileCheckpoint
from streams.sources.replay import time_index
from streams.sources.replay.progress import Progress
from streams.sources.replay.time_index import WindowPlan

log = logging.getLogger(__name__)

# How many records are put back between two checkpoint saves.
CHECKPOINT_EVERY = 500
# Reading a large topic end to end takes a while; past this something is wrong.
READ_GIVE_UP_AFTER = 3600.0


async def plan_for(settings: Settings, selection: Selection) -> WindowPlan | None:
    """The offset ranges that can hold the window's events: on the raw topic from its event-time
    index; a normalized topic has none and is read whole (None)."""
    if selection.topic != RAW:
        return None
    return await time_index.plan_for(settings, selection.window)


async def select(
    bootstrap: str,
    selection: Selection,
    *,
    plan: WindowPlan | None = None,
    progress: Progress | None = None,
) -> list[Picked]:
    """The records `selection` puts back, read from `plan`'s ranges (else the whole topic)."""
    picked: list[Picked] = []

    def keep(record: Record) -> None:
        if plan is not None and not _planned(plan, record.partition, record.offset):
            return
        found = pick(
            selection,
            record.partition,
            record.offset,
            record.key,
            record.value,
            list(record.headers or ()),
        )
        if found is not None:
            picked.append(found)
        if progress is not None:
            progress.advance()

    start = None if plan is None else plan.first_offsets
    if progress is not None:
        progress.start(f"reading {selection.topic}", None)
    await read_to_end(
        bootstrap, selection.topic, keep, start=start, give_up_after=READ_GIVE_UP_AFTER
    )
    if progress is not None:
        progress.finish()
    return last_of_each(selection.topic, picked)


def _planned(plan: WindowPlan, partition: int, offset: int) -> bool:
    return any(first <= offset <= last for first, last in plan.ranges.get(partition, ()))


def run_id(selection: Selection, at: datetime) -> str:
    """A replay run's id: when it started and what it selected."""
    return f"replay-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{fingerprint(selection)[:8]}"


def fingerprint(selection: Selection) -> str:
    """What a selection asks for, as a digest: a checkpoint resumes only the same replay."""
    document = {
        "topic": selection.topic,
        "start": selection.window.start.isoformat() if selection.window.start else None,
        "end": selection.window.end.isoformat() if selection.window.end else None,
        "types": sorted(selection.types),
        "ids": sorted(selection.ids),
        "emails": sorted(selection.emails),
    }
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class Resumed:
    """Where a replay stands: its run id and, per partition, the last offset put back."""

    run: str
    done: dict[int, int]
    resumed: bool


def resume(checkpoint: FileCheckpoint, selection: Selection, now: datetime) -> Resumed:
    """The unfinished run of this same selection, or a new run."""
    document = checkpoint.load()
    if document.get("selection") == fingerprint(selection) and not document.get("finished"):
        done = {int(p): int(o) for p, o in dict(document.get("done", {})).items()}
        return Resumed(str(document["run"]), done, resumed=True)
    return Resumed(run_id(selection, now), {}, resumed=False)


async def put_back(
    bootstrap: str,
    selection: Selection,
    picked: list[Picked],
    *,
    checkpoint: FileCheckpoint,
    state: Resumed,
    progress: Progress,
) -> int:
    """Put `picked` back on the topic with the replay header, in order per partition; the
    checkpoint says after each step what is in Kafka. Returns how many were put back now."""
    header = [(REPLAY_HEADER, state.run.encode())]
    todo = [r for r in picked if r.offset > state.done.get(r.partition, -1)]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=10,
        client_id="cartwright-replay",
    )
    await producer.start()
    sent = 0
    progress.start(
        f"replaying {selection.topic} ({state.run})", len(picked), len(picked) - len(todo)
    )
    try:
        for partition, records in in_partitions(todo):
            for first in range(0, len(records), CHECKPOINT_EVERY):
                chunk = records[first : first + CHECKPOINT_EVERY]
                acks = [
                    await producer.send(
                        selection.topic,
                        key=record.key,
                        value=record.value,
                        partition=partition,
                        headers=header,
                    )
                    for record in chunk
                ]
                for ack in acks:
                    await ack
                state.done[partition] = chunk[-1].offset
                _save(checkpoint, selection, state, finished=False)
                sent += len(chunk)
                progress.advance(len(chunk))
    finally:
        await producer.stop()
        progress.finish()
    _save(checkpoint, selection, state, finished=True)
    return sent


def _save(
    checkpoint: FileCheckpoint, selection: Selection, state: Resumed, *, finished: bool
) -> None:
    checkpoint.save(
        {
            "run": state.run,
            "selection": fingerprint(selection),
            "done": {str(p): o for p, o in sorted(state.done.items())},
            "finished": finished,
        }
    )
