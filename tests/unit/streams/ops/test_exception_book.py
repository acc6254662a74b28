"""The exceptions view: records folded by subject and reason, resolved by a later success."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console

from schemas.contract.incidents import Reason, Severity, SyncException
from schemas.dotdigital.commands import Lane
from schemas.dotdigital.trail import Answer, Written
from streams.cli.exceptions import table
from streams.ops.exception_book import Query, fold, select
from streams.runtime.incidents import readable

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def excepted(
    subject: str,
    reason: Reason = Reason.DOTDIGITAL_REJECTED,
    minutes: float = 0,
    email: str | None = "ada@example.com",
    severity: Severity = Severity.ERROR,
) -> SyncException:
    return SyncException(
        subject=readable(subject),
        email=email,
        reason=reason,
        message="Dotdigital answered 400: invalid field",
        severity=severity,
        campaign_impact=f"impact of {subject}",
        at=T0 + timedelta(minutes=minutes),
    )


def written(
    subject: str,
    minutes: float,
    answer: Answer = Answer.ACCEPTED,
    email: str | None = "ada@example.com",
) -> Written:
    return Written(
        subject=subject,
        email=email,
        kind="insight",
        lane=Lane.BATCH,
        call="insight import of 1 into Orders",
        answer=answer,
        source_event_id="evt-1",
        issued_at=T0,
        at=T0 + timedelta(minutes=minutes),
    )


def test_repeats_of_one_subject_and_reason_are_one_row_counted() -> None:
    rows = fold([excepted("order 000000001", minutes=m) for m in (0, 5, 9)], [])

    [row] = rows
    assert (row.times, row.first_at, row.last_at) == (3, T0, T0 + timedelta(minutes=9))
    assert row.status == "open"
    assert row.why == "Dotdigital refused the write: Dotdigital answered 400: invalid field"


def test_a_later_accepted_write_for_the_subject_resolves_it() -> None:
    rows = fold(
        [excepted("order 000000001", minutes=5), excepted("order 000000002", minutes=5)],
        [
            written("order 000000001", minutes=1),  # before: not a resolution
            written("order 000000001", minutes=20),
            written("order 000000002", minutes=30, answer=Answer.REJECTED),
        ],
    )

    status = {row.subject: (row.status, row.resolved_at) for row in rows}
    assert status["order 000000001"] == ("resolved", T0 + timedelta(minutes=20))
    assert status["order 000000002"] == ("open", None)


def test_a_success_for_another_address_with_the_same_mask_does_not_resolve() -> None:
    rows = fold(
        [excepted("contact ada@example.com", email="ada@example.com")],
        [written("contact ada@example.com", 10, email="ada@example.com".replace("ada", "abe"))],
    )

    assert rows[0].status == "open"


def test_an_opt_out_held_back_is_information_not_an_open_exception() -> None:
    rows = fold([excepted("order 000000003 (order_fulfilled)", Reason.CONSENT_GATE)], [])

    assert rows[0].status == "info"


def test_a_query_filters_by_reason_subject_since_and_openness() -> None:
    rows = fold(
        [
            excepted("order 000000001", minutes=0),
            excepted("order 000000002", Reason.INVALID_EMAIL, minutes=30),
            excepted("contact bob@example.com", minutes=60, email="bob@example.com"),
        ],
        [written("order 000000001", minutes=90)],
    )

    assert [r.subject for r in rows] == [
        "contact b***@example.com",
        "order 000000002",
        "order 000000001",
    ]
    assert [r.subject for r in select(rows, Query(reason=Reason.INVALID_EMAIL))] == [
        "order 000000002"
    ]
    assert [r.subject for r in select(rows, Query(subject="000000001"))] == ["order 000000001"]
    assert [r.subject for r in select(rows, Query(subject="bob@example.com"))] == [
        "contact b***@example.com"
    ]
    assert len(select(rows, Query(since=T0 + timedelta(minutes=20)))) == 2
    assert "order 000000001" not in [r.subject for r in select(rows, Query(open_only=True))]
    assert len(select(rows, Query(limit=1))) == 1


def test_the_table_shows_subject_reason_impact_and_status_without_reading_markup() -> None:
    rows = fold([excepted("order [bold]000000009[/bold]")], [])
    console = Console(record=True, width=200)

    console.print(table(rows, total=1))
    text = console.export_text()

    assert "order [bold]000000009[/bold]" in text
    assert "dotdigital_rejected" in text and "open" in text
    assert "impact of order" in text
