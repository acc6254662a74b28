"""A window replay on a real broker: it selects by the events' own time, puts each entity's last
record back once, resumes after Ctrl-C without putting anything back twice, never selects its own
copies, and above the confirmation size only dry-runs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from sandbox.broker import EmbeddedBroker
from schemas.commerce.events import ORDER_SAVED
from schemas.contract.replay import replay_run
from schemas.contract.topics import RAW
from schemas.replay.selection import Selection
from schemas.replay.window import Window
from streams.runtime.catch_up import Record, read_to_end
from streams.runtime.topics import create_topics
from streams.sources.checkpoint import FileCheckpoint
from streams.sources.replay.progress import Progress
from streams.sources.replay.window import CHECKPOINT_EVERY, put_back, resume, select
from tests.support.stack import base_env, free_port

pytestmark = pytest.mark.integration

DAY = datetime(2026, 11, 2, tzinfo=UTC)
ORDERS = 600  # each saved twice, an hour apart, over a day
PARTITIONS = 4


def envelope(order: int, save: int) -> dict[str, object]:
    at = DAY + timedelta(seconds=order * 120 + save * 3600)
    return {
        "eventid": f"evt-{order}-{save}",
        "type": ORDER_SAVED,
        "time": at.isoformat(),
        "data": {"value": {"entity_id": order, "increment_id": f"{order:09d}", "save": save}},
    }


async def publish_day(bootstrap: str) -> None:
    await create_topics(bootstrap, PARTITIONS)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for save in (0, 1):
            for order in range(ORDERS):
                await producer.send(
                    RAW, key=f"order:{order}".encode(), value=orjson.dumps(envelope(order, save))
                )
        await producer.flush()
    finally:
        await producer.stop()


def copies(bootstrap: str) -> Counter[str]:
    """Records on the raw topic put back by a replay, per run."""
    runs: Counter[str] = Counter()

    def keep(record: Record) -> None:
        run = replay_run(list(record.headers or ()))
        if run is not None:
            runs[run] += 1

    asyncio.run(read_to_end(bootstrap, RAW, keep))
    return runs


class CtrlC(Progress):
    """The operator presses Ctrl-C once the first chunk is in Kafka."""

    def advance(self, steps: int = 1) -> None:
        super().advance(steps)
        raise KeyboardInterrupt


def test_a_window_replay_selects_by_event_time_resumes_after_ctrl_c_and_skips_its_copies(
    tmp_path: Path,
) -> None:
    with EmbeddedBroker(port=free_port()) as broker:
        bootstrap = broker.bootstrap
        asyncio.run(publish_day(bootstrap))
        # Orders 100..399 have a save in the window [DAY+4h, DAY+14h): saves 0 of 120..419,
        # saves 1 of 90..389 (those are the last ones, an hour later).
        start, end = DAY + timedelta(hours=4), DAY + timedelta(hours=14)
        window = Window(start, end)
        selection = Selection(window=window)
        picked = asyncio.run(select(bootstrap, selection))
        wanted = {
            f"order:{order}"
            for order in range(ORDERS)
            for save in (0, 1)
            if window.holds(DAY + timedelta(seconds=order * 120 + save * 3600))
        }
        assert sorted((r.key or b"").decode() for r in picked) == sorted(wanted)
        for record in picked:  # each entity's last save in the window
            moment = record.moment
            later = moment + timedelta(hours=1)
            assert not window.holds(later) or orjson.loads(record.value)["data"]["value"]["save"]

        checkpoint = FileCheckpoint(tmp_path / "replay.json")
        first = resume(checkpoint, selection, datetime.now(UTC))
        with pytest.raises(KeyboardInterrupt):
            asyncio.run(
                put_back(
                    bootstrap,
                    selection,
                    picked,
                    checkpoint=checkpoint,
                    state=first,
                    progress=CtrlC(),
                )
            )
        again = resume(checkpoint, selection, datetime.now(UTC))
        assert again.resumed and again.run == first.run
        already = sum(1 for r in picked if r.offset <= again.done.get(r.partition, -1))
        assert 0 < already <= CHECKPOINT_EVERY
        sent = asyncio.run(
            put_back(
                bootstrap,
                selection,
                picked,
                checkpoint=checkpoint,
                state=again,
                progress=Progress(),
            )
        )
        assert sent == len(picked) - already
        assert copies(bootstrap) == {first.run: len(picked)}, "a record was put back twice"
        # Its copies are in the window too, but a later replay never selects them.
        assert len(asyncio.run(select(bootstrap, selection))) == len(picked)
        assert not resume(checkpoint, selection, datetime.now(UTC)).resumed

        # Above the confirmation size, only a dry run.
        env = base_env(CARTWRIGHT_KAFKA__BOOTSTRAP=bootstrap, CARTWRIGHT_REPLAY__CONFIRM_ABOVE="10")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "streams",
                "replay",
                "--from",
                start.isoformat(),
                "--to",
                end.isoformat(),
                "--checkpoint",
                str(tmp_path / "cli.json"),
            ],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        output = done.stdout.decode()
        assert done.returncode == 0, output + done.stderr.decode()
        assert f"{len(picked):,} events is more than CARTWRIGHT_REPLAY__CONFIRM_ABOVE" in output
        assert "nothing was written" in output
        assert copies(bootstrap) == {first.run: len(picked)}
