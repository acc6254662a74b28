"""The status table: which HTTP answers are fatal, retriable or skippable, and what they carry."""

from __future__ import annotations

import httpx
import pytest

from connectors.errors import (
    ConnectorError,
    FatalError,
    RateLimited,
    RetriableError,
    SkippableError,
    TooManyImports,
    classify,
    from_transport,
    parse_reset,
    retry_after,
)

NOW = 1_700_000_000.0
FLAT_LIMIT = (
    b'{"message":"Your account has generated excess API activity and is being temporarily '
    b'capped. Please contact support. ERROR_APIUSAGE_EXCEEDED"}'
)
HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


def v3(code: str, description: str = "Something went wrong") -> bytes:
    return f'{{"errorCode":"{code}","description":"{description}","details":[]}}'.encode()


def v2(message: str) -> bytes:
    return f'{{"message":"{message}"}}'.encode()


@pytest.mark.parametrize(
    ("status", "body", "expected", "code"),
    [
        (200, b"{}", None, None),
        (201, b"", None, None),
        (204, b"", None, None),
        (302, b"", FatalError, None),
        (400, v3("contacts:badJson"), SkippableError, "contacts:badJson"),
        (
            400,
            v2("Email is not a valid email address. ERROR_PARAMETER_INVALID"),
            SkippableError,
            "ERROR_PARAMETER_INVALID",
        ),
        (400, v2("Error: ERROR_ENROLMENT_INVALID"), SkippableError, "ERROR_ENROLMENT_INVALID"),
        (400, FLAT_LIMIT, RateLimited, "ERROR_APIUSAGE_EXCEEDED"),
        (401, v2("Authorization has been denied for this request."), FatalError, None),
        (403, b"", FatalError, None),
        (404, v3("contacts:contactNotFound"), SkippableError, "contacts:contactNotFound"),
        (404, v2("Error: ERROR_PROGRAM_NOT_FOUND"), SkippableError, "ERROR_PROGRAM_NOT_FOUND"),
        (408, b"", RetriableError, None),
        (409, v3("contacts:idAlreadyExists"), SkippableError, "contacts:idAlreadyExists"),
        (412, v3("insightData:collectionLimit"), SkippableError, "insightData:collectionLimit"),
        (418, b"teapot", SkippableError, None),
        (422, v2("Error: ERROR_PROGRAM_NOT_ACTIVE"), SkippableError, "ERROR_PROGRAM_NOT_ACTIVE"),
        (429, b"", RateLimited, None),
        (429, v3("contacts:tooManyActiveImports"), TooManyImports, "contacts:tooManyActiveImports"),
        (500, b"", RetriableError, None),
        (500, b"   \n", RetriableError, None),
        (501, b"", FatalError, None),
        (502, HTML, RetriableError, None),
        (503, b"Service Unavailable", RetriableError, None),
        (504, b"\xff\xfe not utf-8", RetriableError, None),
        (505, b"", FatalError, None),
        (599, b"[1, 2]", RetriableError, None),
    ],
)
def test_status_table(
    status: int, body: bytes, expected: type[ConnectorError] | None, code: str | None
) -> None:
    error = classify(status, body, {}, now=lambda: NOW)

    assert type(error) is expected if expected else error is None
    if error is not None:
        assert error.status == status
        assert error.code == code
        assert str(error).startswith(f"HTTP {status}")


def test_skippable_carries_v3_code_and_description() -> None:
    error = classify(404, v3("contacts:contactNotFound", "Contact not found"), {})

    assert isinstance(error, SkippableError)
    assert (error.status, error.code, error.description) == (
        404,
        "contacts:contactNotFound",
        "Contact not found",
    )


def test_v2_code_is_parsed_from_the_message_tail() -> None:
    error = classify(400, v2("Contact is suppressed. ERROR_CONTACT_SUPPRESSED"), {})

    assert isinstance(error, SkippableError)
    assert error.code == "ERROR_CONTACT_SUPPRESSED"
    assert error.description == "Contact is suppressed. ERROR_CONTACT_SUPPRESSED"


def test_html_body_is_summarised_not_echoed() -> None:
    error = classify(502, HTML, {})

    assert isinstance(error, RetriableError)
    assert "<html>" not in str(error)
    assert error.description == f"non-JSON body ({len(HTML)} bytes of HTML)"


def test_empty_body_describes_the_status() -> None:
    error = classify(503, b"", {})

    assert str(error) == "HTTP 503: server error"


def test_fatal_message_says_what_to_check() -> None:
    error = classify(401, v2("Authorization has been denied for this request."), {})

    assert "check the API user and password" in str(error)


def test_emails_in_vendor_messages_are_masked() -> None:
    error = classify(404, v3("contacts:contactNotFound", "No contact jane.doe@example.com"), {})

    assert error is not None
    assert "jane.doe@example.com" not in str(error)
    assert error.description == "No contact j***@example.com"


def test_long_descriptions_are_truncated() -> None:
    error = classify(400, v2("x" * 5000), {})

    assert error is not None and error.description is not None
    assert len(error.description) == 200


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Reset": "30"}, 30.0),
        ({"x-ratelimit-reset": "12.5"}, 12.5),
        ({"X-RateLimit-Reset": str(int(NOW) + 45)}, 45.0),
        ({"X-RateLimit-Reset": str(int(NOW) - 10)}, 0.0),
        ({"X-RateLimit-Reset": "soon"}, None),
        ({}, None),
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"X-RateLimit-Reset": "3", "Retry-After": "7"}, 3.0),
    ],
)
def test_retry_after_reads_reset_as_seconds_or_epoch(
    headers: dict[str, str], expected: float | None
) -> None:
    assert retry_after(headers, now=NOW) == expected


def test_rate_limited_429_carries_reset_from_httpx_headers() -> None:
    headers = httpx.Headers({"x-ratelimit-remaining": "0", "X-RATELIMIT-RESET": "20"})

    error = classify(429, b"", headers)

    assert isinstance(error, RateLimited)
    assert error.retry_after == 20.0


def test_epoch_reset_uses_the_injected_clock() -> None:
    error = classify(429, b"", {"X-RateLimit-Reset": "1700000090"}, now=lambda: NOW)

    assert isinstance(error, RateLimited)
    assert error.retry_after == 90.0


def test_reset_threshold_is_ten_to_the_ninth() -> None:
    assert parse_reset("999999999", now=NOW) == 999_999_999.0
    assert parse_reset("1000000001", now=1_000_000_000.0) == 1.0


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ReadTimeout("timed out"), RetriableError),
        (httpx.ConnectTimeout("timed out"), RetriableError),
        (httpx.PoolTimeout("timed out"), RetriableError),
        (httpx.ConnectError("[Errno 111] Connection refused"), RetriableError),
        (httpx.ReadError("connection reset"), RetriableError),
        (httpx.WriteError("broken pipe"), RetriableError),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            RetriableError,
        ),
        (httpx.DecodingError("bad gzip"), RetriableError),
        (httpx.InvalidURL("Invalid URL"), FatalError),
        (
            httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."),
            FatalError,
        ),
        (httpx.LocalProtocolError("Illegal header value"), FatalError),
    ],
)
def test_transport_errors_are_translated(exc: httpx.HTTPError, expected: type) -> None:
    error = from_transport(exc, where="GET /v2/account-info")

    assert type(error) is expected
    assert "GET /v2/account-info" in str(error)


def test_transport_error_messages_mask_emails() -> None:
    error = from_transport(httpx.ConnectError("failed for jane@example.com"), where="GET /x")

    assert "jane@example.com" not in str(error)
