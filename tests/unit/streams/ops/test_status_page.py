"""The status page (`GET /ops/`) served by the worker's web server: every section from its source,
untrusted text escaped, empty and failing sources, the trace search and the ops token's login."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import faust
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiokafka.errors import KafkaConnectionError
from faust.types import TP
from pydantic import SecretStr

from connectors.errors import FatalError
from schemas.catalogue.sync_summary import CatalogueSynced
from schemas.contract.incidents import Reason, Severity
from schemas.contract.topics import RAW, WRITES, WRITES_REALTIME
from streams.ops import status_page
from streams.ops.early_warnings import EarlyWarning
from streams.ops.endpoints import COOKIE, register_ops
from streams.ops.exception_book import ExceptionRow
from streams.ops.partition_lag import LagWatch
from streams.ops.reconciliation.report import DriftDay
from streams.ops.status_page import (
    MAX_QUERY,
    NOT_TRACED,
    ROWS,
    STALLED_AFTER,
    StatusPage,
    StatusSources,
)
from streams.ops.trace import Step, Trace
from streams.runtime.metrics import Metrics
from streams.settings import Settings, WebSettings

Client = TestClient[web.Request, web.Application]
HOSTILE = "<script>alert(1)</script>"
AT = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


class Consumer:
    """The consumer as the page reads it: which partitions it holds."""

    def __init__(self, *held: TP) -> None:
        self.held = set(held)

    def assignment(self) -> set[TP]:
        return self.held


def exception_row(subject: str = "order 000000123", **changes: Any) -> ExceptionRow:
    fields: dict[str, Any] = {
        "subject": subject,
        "reason": Reason.DOTDIGITAL_REJECTED,
        "severity": Severity.ERROR,
        "why": "Dotdigital refused the order: unknown contact",
        "impact": "missing from purchase history",
        "first_at": AT,
        "last_at": AT,
        "times": 3,
        "resolved_at": None,
    }
    return ExceptionRow(**{**fields, **changes})


WARNING = EarlyWarning(
    name="consumer_lag",
    severity=Severity.WARNING,
    message="The batch lane is 5,000 records behind",
    value=5000,
    threshold=1000,
    since=AT,
)
DRIFT = DriftDay(
    day=date(2026, 12, 5),
    store="default",
    commerce=Decimal("1234.50"),
    dotdigital=Decimal("1200.00"),
    drift=Decimal("-34.50"),
    percent=-2.79,
    findings=2,
)
REACHED = Trace(
    subject="order 000000123",
    reached=True,
    verdict="Order 000000123 reached Dotdigital on its second write.",
    steps=(
        Step("delivered", AT, "ok", "signed delivery accepted"),
        Step("written", AT, "ok", "Orders record upserted"),
    ),
    dotdigital=(("Orders/000000123", "status complete, 76.00 EUR"),),
)


def sources(
    *,
    exceptions: Sequence[ExceptionRow] = (),
    warnings: Sequence[EarlyWarning] = (),
    drift: Sequence[DriftDay] = (),
    trace: dict[str, Trace] | None = None,
) -> StatusSources:
    """Sources answering these rows, and a Trace for each query in `trace`."""

    async def read_exceptions() -> Sequence[ExceptionRow]:
        return exceptions

    async def read_warnings() -> Sequence[EarlyWarning]:
        return warnings

    async def read_drift() -> Sequence[DriftDay]:
        return drift

    async def read_trace(query: str) -> Trace | None:
        return (trace or {}).get(query)

    return StatusSources(read_exceptions, read_warnings, read_drift, read_trace)


def serving(
    source: StatusSources | None = None,
    *,
    token: str | None = None,
    metrics: Metrics | None = None,
    consumer: Consumer | None = None,
) -> Client:
    app: Any = faust.App("page-test", broker="kafka://127.0.0.1:1", store="memory://")
    app.consumer = consumer or Consumer(TP(RAW, 0), TP(WRITES, 1))
    settings = Settings(web=WebSettings(ops_token=SecretStr(token) if token else None))
    register_ops(
        app,
        settings,
        metrics or Metrics(),
        budget=lambda: {
            "share": "1/2",
            "leader": True,
            "per_minute": {"low": 10.0, "medium": 60.0, "high": None, "unlimited": None},
            "flat_hourly": None,
        },
        sources=source,
    )
    return TestClient(TestServer(app.web.web_app))


@pytest.fixture
async def page() -> AsyncIterator[Client]:
    given = sources(
        exceptions=[exception_row()],
        warnings=[WARNING],
        drift=[DRIFT],
        trace={"000000123": REACHED},
    )
    async with serving(given) as client:
        yield client


async def text_of(client: Client, path: str = "/ops/") -> str:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return await response.text()


def section(page: str, name: str) -> str:
    """The HTML of one section, by its id."""
    found = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert found, f"no section {name}"
    return found.group(1)


async def test_every_section_is_on_the_page(page: Client) -> None:
    shown = await text_of(page)

    for name in ("trace", "health", "lanes", "lag", "warnings", "exceptions", "drift", "catalogue"):
        section(shown, name)


async def test_health_names_the_app_its_leadership_and_partitions(page: Client) -> None:
    health = section(await text_of(page), "health")

    assert "cartwright" in health
    assert "yes: polls the Dotdigital suppression feeds" in health or "no: another" in health
    assert "2 on 2 topics" in health
    assert f"<code>{RAW}</code></td><td>0</td>" in health
    assert '<span class="badge ok">ok</span>' in health


async def test_lanes_show_commands_rejections_latency_and_the_budget() -> None:
    metrics = Metrics()
    metrics.add("batch.commands", 40)
    metrics.add("batch.rejected", 2)
    for seconds in (0.2, 0.4, 3.0):
        metrics.write_accepted_after("batch", seconds)

    async with serving(metrics=metrics) as client:
        lanes = section(await text_of(client), "lanes")

    batch = re.search(r"<tr><td>batch</td>(.*?)</tr>", lanes, re.S)
    assert batch is not None
    cells = re.findall(r'<td class="n">([^<]*)</td>', batch.group(1))
    assert cells == ["40", "2", "400 ms", "3.0 s"]
    realtime = re.search(r"<tr><td>realtime</td>(.*?)</tr>", lanes, re.S)
    assert realtime is not None
    assert re.findall(r'<td class="n">([^<]*)</td>', realtime.group(1)) == ["0", "0", "—", "—"]
    assert "1/2 of the write partitions" in lanes
    assert "10.0" in lanes and "60.0" in lanes and "no limit" in lanes


async def test_warnings_exceptions_and_drift_are_listed(page: Client) -> None:
    shown = await text_of(page)

    warnings = section(shown, "warnings")
    assert "The batch lane is 5,000 records behind" in warnings
    assert "2026-12-06 09:30:00 UTC" in warnings
    exceptions = section(shown, "exceptions")
    assert "order 000000123" in exceptions
    assert "dotdigital_rejected" in exceptions
    assert "Dotdigital refused the order: unknown contact" in exceptions
    assert '<span class="badge open">open</span>' in exceptions
    drift = section(shown, "drift")
    assert "1,234.50" in drift and "1,200.00" in drift and "-34.50" in drift
    assert "2026-12-05" in drift


async def test_the_catalogue_line_shows_the_last_sync_its_kind_counts_and_exceptions() -> None:
    synced = CatalogueSynced(
        at=AT, full=False, products=1250, records=1200, stale=3, gaps=7, unreadable=1, deleted=0
    )

    async def last() -> CatalogueSynced | None:
        return synced

    async with serving(StatusSources(catalogue=last)) as client:
        shown = section(await text_of(client), "catalogue")

    assert "2026-12-06 09:30:00 UTC" in shown and "delta" in shown
    assert "1,250" in shown and "1,200" in shown
    assert '<span class="badge stopped">8</span>' in shown
    assert "7 mapped attribute(s) left empty" in shown and "1 product(s)" in shown


async def test_an_unreadable_catalogue_line_says_so() -> None:
    async def broken() -> CatalogueSynced | None:
        raise KafkaConnectionError("cursors unreachable")

    async with serving(StatusSources(catalogue=broken)) as client:
        shown = section(await text_of(client), "catalogue")

    assert "The last catalogue sync could not be read just now" in shown


async def test_a_resolved_exception_says_so_and_when() -> None:
    resolved = exception_row(resolved_at=datetime(2026, 12, 6, 10, 0, tzinfo=UTC))

    async with serving(sources(exceptions=[resolved])) as client:
        exceptions = section(await text_of(client), "exceptions")

    assert '<span class="badge ok">resolved</span>' in exceptions
    assert "2026-12-06 10:00:00 UTC" in exceptions


async def test_untrusted_text_is_escaped_everywhere() -> None:
    hostile_trace = Trace(
        subject=HOSTILE,
        reached=False,
        verdict=HOSTILE,
        steps=(Step(HOSTILE, None, "stopped", HOSTILE),),
        dotdigital=((HOSTILE, HOSTILE),),
    )
    given = sources(
        exceptions=[exception_row(HOSTILE, why=HOSTILE, impact=HOSTILE)],
        warnings=[EarlyWarning(HOSTILE, Severity.INFO, HOSTILE, 1.0, 2.0, AT)],
        drift=[DriftDay(date(2026, 12, 5), HOSTILE, Decimal(1), Decimal(1), Decimal(0), 0.0, 0)],
        trace={HOSTILE: hostile_trace},
    )

    async with serving(given) as client:
        shown = await text_of(client, "/ops/?trace=" + HOSTILE)

    assert "<script>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    # Every source's text is on the page, escaped: the subject, why, impact, warning, store, trace.
    assert shown.count(html.escape(HOSTILE)) >= 10


async def test_empty_sources_say_there_is_nothing_yet() -> None:
    async with serving() as client:
        shown = await text_of(client)

    assert "No warnings." in section(shown, "warnings")
    assert "No exceptions." in section(shown, "exceptions")
    assert "No reconciliation yet." in section(shown, "drift")
    assert "No catalogue sync yet." in section(shown, "catalogue")
    assert 'id="trace-answer"' not in shown


async def test_a_failing_source_says_it_could_not_be_read_and_the_rest_renders() -> None:
    async def broken() -> Sequence[ExceptionRow]:
        raise KafkaConnectionError("exception book unreachable")

    async def no_trace(query: str) -> Trace | None:
        raise FatalError("trace unreachable")

    given = StatusSources(
        exceptions=broken, warnings=sources(warnings=[WARNING]).warnings, trace=no_trace
    )

    async with serving(given) as client:
        shown = await text_of(client, "/ops/?trace=000000123")

    assert "The exceptions could not be read just now" in section(shown, "exceptions")
    assert "The batch lane is 5,000 records behind" in section(shown, "warnings")
    assert "The trace of 000000123 could not be read just now" in section(shown, "trace")
    assert "No reconciliation yet." in section(shown, "drift")


async def test_a_source_that_does_not_answer_in_time_is_shown_unreadable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(status_page, "READ_TIMEOUT", 0.05)
    never = asyncio.Event()

    async def hung() -> Sequence[DriftDay]:
        await never.wait()
        return []

    async with serving(StatusSources(drift=hung)) as client:
        shown = await text_of(client)

    assert "The drift summary could not be read just now" in section(shown, "drift")
    assert "No exceptions." in section(shown, "exceptions")


async def test_a_section_shows_at_most_its_rows_and_says_how_many_more() -> None:
    many = [exception_row(f"order {n:09d}") for n in range(ROWS + 7)]

    async with serving(sources(exceptions=many)) as client:
        exceptions = section(await text_of(client), "exceptions")

    assert exceptions.count('<td class="mono">order ') == ROWS
    assert f"… and 7 more not shown (the page shows {ROWS})" in exceptions


async def test_the_trace_search_answers_on_the_page(page: Client) -> None:
    answer = section(await text_of(page, "/ops/?trace=%20000000123%20"), "trace")

    assert 'value="000000123"' in answer
    assert "Order 000000123 reached Dotdigital on its second write." in answer
    assert '<span class="badge ok">reached Dotdigital</span>' in answer
    assert "Orders record upserted" in answer
    assert "status complete, 76.00 EUR" in answer


async def test_a_query_nothing_is_known_of_says_so(page: Client) -> None:
    answer = section(await text_of(page, "/ops/?trace=nobody@example.com"), "trace")

    assert "Nothing is known of <code>nobody@example.com</code>" in answer


async def test_an_overlong_query_is_not_looked_up() -> None:
    asked: list[str] = []

    async def trace(query: str) -> Trace | None:
        asked.append(query)
        return None

    async with serving(StatusSources(trace=trace)) as client:
        answer = section(await text_of(client, "/ops/?trace=" + "a" * (MAX_QUERY + 1)), "trace")
        await text_of(client, "/ops/?trace=" + "b" * MAX_QUERY)

    assert f"A query is at most {MAX_QUERY} characters" in answer
    assert asked == ["b" * MAX_QUERY]


async def test_the_default_trace_says_tracing_is_not_available() -> None:
    async with serving() as client:
        answer = section(await text_of(client, "/ops/?trace=000000123"), "trace")

    assert NOT_TRACED in answer


async def test_the_page_is_neither_cached_nor_scriptable(page: Client) -> None:
    response = await page.get("/ops/")

    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Type"].startswith("text/html")


async def test_with_a_token_the_page_asks_for_it_and_a_login_opens_it() -> None:
    async with serving(token="ops-secret") as client:
        refused = await client.get("/ops/")
        refused_page = await refused.text()
        wrong = await client.post("/ops/login", data={"token": "guess"}, allow_redirects=False)
        wrong_page = await wrong.text()
        right = await client.post("/ops/login", data={"token": "ops-secret"}, allow_redirects=False)
        cookie = right.cookies[COOKIE]
        opened = await client.get("/ops/")
        opened_page = await opened.text()

    assert refused.status == 401
    assert 'action="/ops/login"' in refused_page
    assert 'id="health"' not in refused_page
    assert wrong.status == 401
    assert "That is not this worker's ops token." in wrong_page
    assert (right.status, right.headers["Location"]) == (303, "/ops/")
    assert "ops-secret" not in cookie.value
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/ops/"
    assert opened.status == 200
    assert 'id="health"' in opened_page


async def test_the_bearer_header_opens_the_page_too_and_a_forged_cookie_does_not() -> None:
    async with serving(token="ops-secret") as client:
        bearer = await client.get("/ops/", headers={"Authorization": "Bearer ops-secret"})
        client.session.cookie_jar.update_cookies({COOKIE: "ops-secret"})
        forged = await client.get("/ops/")
        status = await client.get("/ops/status")

    assert bearer.status == 200
    assert forged.status == 401
    # The JSON endpoints still want the bearer header, whatever cookie comes along.
    assert status.status == 401


def test_lag_is_summed_by_stage_and_a_partition_that_stops_moving_is_named() -> None:
    now = [1000.0]
    held = {TP(RAW, 0), TP(RAW, 1), TP(WRITES, 0), TP(WRITES_REALTIME, 0)}

    class Monitor:
        tp_end_offsets = {TP(RAW, 0): 50, TP(RAW, 1): 10, TP(WRITES, 0): 500}
        tp_committed_offsets = {TP(RAW, 0): 40, TP(RAW, 1): 10, TP(WRITES, 0): 100}

    monitor = Monitor()
    watch = LagWatch(lambda: held, monitor, lambda: now[0])

    stages, stalled = watch.read()
    assert [(s.stage, s.partitions, s.lag, s.unknown) for s in stages] == [
        ("normalize", 2, 10, 0),
        ("sink: batch lane", 1, 400, 0),
        ("sink: realtime lane", 1, 0, 1),
    ]
    assert stalled is not None and stalled.still_for == 0

    # The raw topic's partition 0 commits; the batch lane's does not.
    now[0] = 1045.0
    monitor.tp_committed_offsets = {**monitor.tp_committed_offsets, TP(RAW, 0): 45}
    _, stalled = watch.read()
    assert stalled is not None
    assert (stalled.topic, stalled.partition, stalled.lag, stalled.still_for) == (
        WRITES,
        0,
        400,
        45.0,
    )


async def test_a_partition_without_a_commit_for_a_minute_is_shown_stopped() -> None:
    now = [1000.0]
    app: Any = faust.App("page-test", broker="kafka://127.0.0.1:1", store="memory://")
    app.consumer = Consumer(TP(WRITES, 0), TP("cartwright-__assignor-__leader", 0))
    app.monitor.tp_end_offsets = {TP(WRITES, 0): 500}
    app.monitor.tp_committed_offsets = {TP(WRITES, 0): 100}
    page = StatusPage(app, Settings(), Metrics(), lambda: None, StatusSources(), lambda: now[0])

    first = section(await page.render(), "lag")
    now[0] += STALLED_AFTER - 1
    moving = section(await page.render(), "lag")
    now[0] += 1
    stopped = section(await page.render(), "lag")

    assert '<span class="badge ok">400 waiting</span>' in first
    assert "watched from this read on" in first
    # Faust's leader topic is held, but no stage reads it.
    assert "leader election" not in first and "__assignor" not in first
    assert '<span class="badge ok">400 waiting</span>' in moving
    assert "no commit for 59.0 s" in moving
    assert '<span class="badge stopped">400 waiting, stopped</span>' in stopped
    assert 'class="alert" id="stalled"' in stopped
    assert f"<code>{WRITES}[0]</code>" in stopped and "no commit for 60.0 s" in stopped
