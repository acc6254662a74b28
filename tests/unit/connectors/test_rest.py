"""The shared REST session: one exchange sent, translated, logged and decoded (httpx.MockTransport)."""

from __future__ import annotations

import logging

import httpx
import pytest

from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimited,
    RetriableError,
    SkippableError,
)
from connectors.rest import RestSession, decode_json, segment, unless_missing

LOG = logging.getLogger("tests.rest")


def session(reply: httpx.Response | Exception, seen: list[httpx.Request]) -> RestSession:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return RestSession(
        "https://api.example.test",
        None,
        source="Example",
        log=LOG,
        transport=httpx.MockTransport(answer),
        timeout=5.0,
        clock=lambda: 0.0,
        wall_clock=lambda: 1e9,
    )


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("jane+vip@example.com", "jane%2Bvip%40example.com"),
        ("a/b c#d", "a%2Fb%20c%23d"),
        (42, "42"),
    ],
)
def test_a_segment_encodes_every_reserved_character(value: str | int, encoded: str) -> None:
    assert segment(value) == encoded


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_a_segment_that_would_address_another_resource_is_refused(value: str) -> None:
    with pytest.raises(SkippableError, match="refused") as raised:
        segment(value)

    assert (raised.value.status, raised.value.code) == (None, "unsendable_path_segment")


@pytest.mark.parametrize("value", ["...", ".hidden", "a.b", "..a", "%2E%2E"])
def test_a_segment_with_dots_that_is_no_dot_segment_goes_out_as_it_is(value: str) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    http = httpx.Client(base_url="https://api.example.test", transport=httpx.MockTransport(answer))
    http.get(f"/V1/products/{segment(value)}/options")
    http.close()

    expected = f"/V1/products/{value.replace('%', '%25')}/options".encode()
    assert seen[0].url.raw_path == expected


def test_httpx_collapses_dot_segments_which_is_why_segment_refuses_them() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    http = httpx.Client(base_url="https://api.example.test", transport=httpx.MockTransport(answer))
    http.get("/V1/products/../options")
    http.close()

    assert seen[0].url.raw_path == b"/V1/options"


def test_an_empty_body_decodes_to_none_and_a_broken_one_is_retriable() -> None:
    assert decode_json(b"  ", "GET /x") is None
    with pytest.raises(RetriableError, match="GET /x"):
        decode_json(b"{", "GET /x")


async def test_a_success_is_sent_as_json_and_its_body_decoded() -> None:
    seen: list[httpx.Request] = []
    rest = session(httpx.Response(201, json={"id": 7}), seen)

    reply = await rest.exchange("create", "POST", "/v1/things", body={"name": "x"})
    await rest.aclose()

    assert (reply.status, reply.data, reply.json_object("thing")) == (201, {"id": 7}, {"id": 7})
    assert seen[0].headers["Content-Type"] == "application/json"
    assert seen[0].headers["Accept"] == "application/json"
    assert seen[0].content == b'{"name":"x"}'


async def test_a_reply_in_the_wrong_shape_is_fatal_and_names_the_source() -> None:
    rest = session(httpx.Response(200, json=[1, 2]), [])

    reply = await rest.exchange("read", "GET", "/v1/thing")

    with pytest.raises(FatalError, match="from Example"):
        reply.json_object("thing")


async def test_the_answered_hook_hears_headers_and_the_error_before_it_is_raised() -> None:
    heard: list[tuple[str | None, str | None]] = []
    reply = httpx.Response(429, headers={"Retry-After": "12", "X-Tier": "low"})
    rest = session(reply, [])

    with pytest.raises(RateLimited) as raised:
        await rest.exchange(
            "read",
            "GET",
            "/v1/thing",
            answered=lambda headers, error: heard.append(
                (None if headers is None else headers["X-Tier"], type(error).__name__)
            ),
        )

    assert heard == [("low", "RateLimited")]
    assert raised.value.retry_after == 12.0
    assert any("while calling GET /v1/thing (read)" in n for n in raised.value.__notes__)


async def test_a_transport_failure_is_translated_and_heard_without_headers() -> None:
    heard: list[tuple[object, object]] = []
    rest = session(httpx.ConnectError("refused"), [])

    with pytest.raises(ConnectorError) as raised:
        await rest.exchange(
            "read",
            "GET",
            "/v1/thing",
            answered=lambda headers, error: heard.append((headers, error)),
        )

    assert isinstance(raised.value, RetriableError)
    assert heard == [(None, raised.value)]
    assert raised.value.__context__ is None and raised.value.__cause__ is None


async def test_logs_show_the_shown_path_on_the_callers_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="tests.rest")
    rest = session(httpx.Response(404, json={"message": "gone"}), [])

    with pytest.raises(ConnectorError):
        await rest.exchange(
            "read", "GET", "/v1/people/jane%40example.com", shown="/v1/people/j***@example.com"
        )

    (record,) = [r for r in caplog.records if r.name == "tests.rest"]
    assert record.getMessage() == "example GET /v1/people/j***@example.com -> 404"
    assert {"operation", "method", "path", "status", "duration_ms", "code"} <= set(vars(record))
    assert "jane" not in repr(vars(record))


async def test_a_missing_thing_reads_as_none_and_other_refusals_still_raise() -> None:
    missing = session(httpx.Response(404, json={"message": "no such thing"}), [])
    refused = session(httpx.Response(409, json={"message": "conflict"}), [])

    assert await unless_missing(missing.exchange("read", "GET", "/v1/thing")) is None
    with pytest.raises(SkippableError):
        await unless_missing(refused.exchange("read", "GET", "/v1/thing"))
