"""`cartwright replay`: put a window of a topic, or dead letters, back through the agents."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from schemas.contract.incidents import Reason
from streams.settings import Settings
from streams.sources.replay.dead_letters import DeadLetterSelection, replay_dead_letters
from streams.sources.replay.progress import Progress


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
        selection = DeadLetterSelection(
            reasons=frozenset(args.reason or ()),
            since=args.since,
            ids=frozenset(args.ids or ()),
        )
        report = asyncio.run(
            replay_dead_letters(
                settings.kafka.bootstrap,
                selection,
                dry_run=args.dry_run,
                confirm_above=None if args.yes else settings.replay.confirm_above,
                progress=progress,
            )
        )
        print(report.render(), file=sys.stdout)
        return 0
    print("cartwright replay: a window replay is not wired yet", file=sys.stderr)
    return 2
