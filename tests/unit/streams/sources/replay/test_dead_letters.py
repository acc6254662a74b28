"""`replay --dead-letters` as the operator meets it: put back only where an agent reads, a report
that names the counts with addresses masked, and a clear word when it only dry-ran."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from schemas.contract.incidents import DeadLetter, Reason
from schemas.contract.topics import RAW, WRITES
from schemas.replay.dead_letters import LEFT_ALONE, PUT_BACK_ON, Letter, Sorting
from streams.app import create_app
from streams.cli.main import main
from streams.settings import Settings
from streams.sources.replay.dead_letter_report import DeadLetterReport, Outcome

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def letter(place: tuple[int, int], reason: Reason, topic: str, original: dict[str, Any]) -> Letter:
    return Letter(
        *place,
        DeadLetter(
            reason=reason,
            detail="refused",
            source_topic=topic,
            key="key",
            original_b64=DeadLetter.encode(orjson.dumps(original)),
            at=AT,
        ),
    )


def enrolment(email: str, number: str) -> dict[str, Any]:
    return {"command": {"kind": "enrolment", "email": email, "subject": f"order {number}"}}


@pytest.fixture
def sorting() -> Sorting:
    rejected, failed = Reason.DOTDIGITAL_REJECTED, Reason.PROCESSING_FAILED
    return Sorting(
        replay=[
            letter((0, 1), rejected, WRITES, enrolment("ada.lovelace@example.com", "000000004")),
            letter((1, 0), rejected, WRITES, enrolment("grace@example.com", "000000005")),
            letter((1, 3), failed, RAW, {"type": "order"}),
        ],
        already=[letter((0, 0), rejected, WRITES, enrolment("ada.lovelace@example.com", "3"))],
        skipped=[(letter((2, 0), failed, "adobe_io", {}), "came from adobe_io, which no agent …")],
    )


def test_dead_letters_go_back_only_to_topics_the_workers_agents_read() -> None:
    app = create_app(Settings())
    read = {topic for agent in app.agents.values() for topic in agent.channel.topics}

    assert PUT_BACK_ON | set(LEFT_ALONE) == read


def test_the_dry_run_names_the_counts_by_reason_and_source_topic(sorting: Sorting) -> None:
    text = DeadLetterReport.of(read=9, unreadable=0, sorting=sorting).render()
    lines = [" ".join(line.split()) for line in text.splitlines()]

    assert lines[0] == "dry run: 3 dead letters would be replayed; nothing was written"
    assert {
        "read 9",
        "already replayed (marked) 1",
        "cannot be replayed 1",
        "would be replayed 3",
        "dotdigital_rejected 2 1 0",
        "processing_failed 1 0 1",
        f"{WRITES} 2 1 0",
        f"{RAW} 1 0 0",
    } <= set(lines)
    assert any("enrolment: order 000000004 (a***@example.com)" in line for line in lines)
    assert "ada.lovelace@example.com" not in text
    assert "grace@" not in text


def test_above_the_confirmation_limit_it_says_it_only_dry_ran(sorting: Sorting) -> None:
    report = DeadLetterReport.of(read=9, unreadable=0, sorting=sorting)
    report.outcome, report.confirm_above = Outcome.HELD, 2

    headline = report.render().splitlines()[0]

    assert "more than CARTWRIGHT_REPLAY__CONFIRM_ABOVE (2)" in headline
    assert "only a dry run, nothing was written" in headline
    assert "--yes" in headline


def test_window_options_are_refused_with_dead_letters(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", "--dead-letters", "--from", "2026-11-27"])

    assert code == 2
    assert "--since" in capsys.readouterr().err
