"""`cartwright replay`: put a window of a topic, or dead letters, back through the agents."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from schemas.contract.incidents import Reason
from schemas.email import normalize_email
from schemas.replay.selection import RAW_TYPES, REPLAYABLE, Selection
from schemas.replay.window import Window
from streams.cli.dry_run import changelog_tables, print_dry_run, simulate
from streams.runtime.topics import create_topics
from streams.settings import Settings
from streams.sources.checkpoint import FileCheckpoint
from streams.sources.replay.dead_letters import DeadLetterSelection, replay_dead_letters
from streams.sources.replay.progress import Progress
from streams.sources.replay.window import plan_for, put_back, resume, select


def moment(text: str) -> datetime:
    """An ISO date or date-time from the command line; UTC when it names no zone."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reason(text: str) -> Reason:
    try:
        return Reason(text)
    except ValueError as exc:
        known = ", ".join(r.value for r in Reason)
        raise argparse.ArgumentTypeError(f"unknown reason {text!r}; one of: {known}") from exc


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = commands.add_parser(
        "replay",
        help="put a window of the raw or a normalized topic, or dead letters, back through "
        "the agents (a dry run first)",
        description="Replay after an incident. Replayed events flow through the same agents and "
        "every write is an upsert by a deterministic key, so replaying twice changes nothing.",
    )
    replay.add_argument(
        "--from",
        dest="start",
        type=moment,
        default=None,
        help="events that happened at or after this time (the event's own time, ISO)",
    )
    replay.add_argument(
        "--to", dest="end", type=moment, default=None, help="… and before this time"
    )
    replay.add_argument(
        "--topic",
        choices=sorted(REPLAYABLE),
        default="raw",
        help="raw: normalize, join and sink again; orders/customers/refunds: join and sink",
    )
    replay.add_argument(
        "--type",
        action="append",
        default=None,
        dest="types",
        choices=sorted(RAW_TYPES),
        help="only events of this type (raw topic)",
    )
    replay.add_argument(
        "--email", action="append", default=None, help="only events about this email"
    )
    replay.add_argument(
        "--checkpoint",
        default=None,
        help="where the run keeps how far it came (default CARTWRIGHT_REPLAY__CHECKPOINT)",
    )
    replay.add_argument("--dead-letters", action="store_true", help="replay dead letters")
    replay.add_argument(
        "--reason", type=reason, action="append", default=None, help="dead letters of this reason"
    )
    replay.add_argument(
        "--since", type=moment, default=None, help="dead letters written at or after this time"
    )
    replay.add_argument(
        "--id",
        action="append",
        default=None,
        dest="ids",
        help="only these: an event id, an order or customer id, an email, a record key",
    )
    replay.add_argument(
        "--dry-run", action="store_true", help="say what would be replayed, write nothing"
    )
    replay.add_argument(
        "--yes",
        action="store_true",
        help="replay even when more than CARTWRIGHT_REPLAY__CONFIRM_ABOVE events are selected",
    )
    replay.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    progress = Progress()
    if args.dead_letters:
        return _dead_letters(args, settings, progress)
    if args.start is None and args.end is None and not args.ids and not args.email:
        print(
            "cartwright replay: say what to replay: --from/--to (event time), --id or --email; "
            "or --dead-letters",
            file=sys.stderr,
        )
        return 2
    selection = Selection(
        topic=REPLAYABLE[args.topic],
        window=Window(args.start, args.end),
        types=frozenset(args.types or ()),
        ids=frozenset(args.ids or ()),
        emails=frozenset(normalize_email(e) for e in args.email or ()),
    )
    return asyncio.run(_window(args, settings, selection, progress))


async def _window(
    args: argparse.Namespace, settings: Settings, selection: Selection, progress: Progress
) -> int:
    bootstrap = settings.kafka.bootstrap
    picked = await select(
        bootstrap, selection, plan=await plan_for(settings, selection), progress=progress
    )
    confirm = settings.replay.confirm_above
    too_many = len(picked) > confirm and not args.yes
    if args.dry_run or too_many:
        tables = await changelog_tables(settings)
        report = await simulate(settings, selection.topic, picked, tables)
        print_dry_run(report, selection, len(picked))
        if too_many and not args.dry_run:
            print(
                f"{len(picked):,} events is more than CARTWRIGHT_REPLAY__CONFIRM_ABOVE "
                f"({confirm:,}): this was a dry run; replay them with --yes"
            )
        return 0
    checkpoint = FileCheckpoint(Path(args.checkpoint or settings.replay.checkpoint))
    state = resume(checkpoint, selection, datetime.now(UTC))
    if state.resumed:
        print(f"resuming {state.run} from its checkpoint ({checkpoint.path})")
    sent = await put_back(
        bootstrap, selection, picked, checkpoint=checkpoint, state=state, progress=progress
    )
    print(
        f"replayed {len(picked):,} events of {selection.topic} as {state.run} "
        f"({sent:,} put back now); the worker restates them as upserts"
    )
    return 0


def _dead_letters(args: argparse.Namespace, settings: Settings, progress: Progress) -> int:
    """`--dead-letters`: put back what the selection picks, or say what would be (exit 0 either
    way, also when more than CARTWRIGHT_REPLAY__CONFIRM_ABOVE were picked without --yes: the
    report's first line then says it was only a dry run). 2 for window options given with it."""
    window_only = {
        "--from": args.start,
        "--to": args.end,
        "--type": args.types,
        "--email": args.email,
        "--checkpoint": args.checkpoint,
    }
    given = [name for name, value in window_only.items() if value]
    if given:
        print(
            f"cartwright replay: {', '.join(given)} select a window replay, not dead letters; "
            "with --dead-letters use --reason, --since (when dead-lettered) and --id",
            file=sys.stderr,
        )
        return 2
    letters = DeadLetterSelection(
        reasons=frozenset(args.reason or ()),
        since=args.since,
        ids=frozenset(args.ids or ()),
    )
    kafka = settings.kafka
    if not args.dry_run:
        # The marks topic, should the worker that created the others predate it.
        asyncio.run(
            create_topics(
                kafka.bootstrap,
                kafka.partitions,
                kafka.replication_factor,
                incident_retention_days=kafka.incident_retention_days,
            )
        )
    report = asyncio.run(
        replay_dead_letters(
            kafka.bootstrap,
            letters,
            dry_run=args.dry_run,
            confirm_above=None if args.yes else settings.replay.confirm_above,
            progress=progress,
        )
    )
    print(report.render(), file=sys.stdout)
    return 0
