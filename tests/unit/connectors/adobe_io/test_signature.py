"""Adobe I/O delivery signatures, with keys served by a scripted key host (httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from connectors.adobe_io.signature import PublicKeyCache, verify_delivery
from connectors.errors import RetriableError
from sandbox.commerce.adobe_io.signing import KEY_PATHS, Signer
from tests.support.faketime import FakeTime

KEY_HOST = "https://static.adobeioevents.com"
BODY = b'{"id":"evt-1","type":"com.adobe.commerce.observer.sales_order_save_commit_after"}'
TTL = 3600.0


class KeyHost:
    """Serves the signer's PEMs; records every request; can be told to fail."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        self.requests: list[httpx.Request] = []
        self.status: int | None = None  # forced status for every answer
        self.unreachable = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        if self.status is not None:
            return httpx.Response(self.status)
        assert request.url.host == "static.adobeioevents.com"
        pem = self.signer.public_pem(request.url.path)
        if pem is None:
            return httpx.Response(404)
        return httpx.Response(200, content=pem)

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()  # RSA key generation is slow: one pair of keys for the module


@pytest.fixture
def host(signer: Signer) -> KeyHost:
    return KeyHost(signer)


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime(now=1000.0)


@pytest.fixture
async def keys(host: KeyHost, clock: FakeTime) -> AsyncIterator[PublicKeyCache]:
    cache = PublicKeyCache(
        KEY_HOST, ttl=TTL, transport=httpx.MockTransport(host), clock=clock.clock
    )
    yield cache
    await cache.aclose()


async def test_genuine_body_verifies(signer: Signer, keys: PublicKeyCache) -> None:
    verdict = await verify_delivery(BODY, signer.headers(BODY, "evt-1"), keys)

    assert verdict.genuine
    assert verdict.reason == ""


async def test_second_signature_alone_suffices_when_first_is_corrupt(
    signer: Signer, keys: PublicKeyCache, host: KeyHost
) -> None:
    headers = signer.headers(BODY, "evt-1")
    headers["x-adobe-digital-signature-1"] = signer.headers(b"another body", "evt-2")[
        "x-adobe-digital-signature-1"
    ]

    verdict = await verify_delivery(BODY, headers, keys)

    assert verdict.genuine
    assert host.paths() == list(KEY_PATHS)


async def test_first_signature_alone_suffices_without_the_second(
    signer: Signer, keys: PublicKeyCache
) -> None:
    headers = signer.headers(BODY, "evt-1")
    del headers["x-adobe-digital-signature-2"]

    assert (await verify_delivery(BODY, headers, keys)).genuine


async def test_header_names_are_case_insensitive(signer: Signer, keys: PublicKeyCache) -> None:
    headers = {name.upper(): value for name, value in signer.headers(BODY, "evt-1").items()}

    assert (await verify_delivery(BODY, headers, keys)).genuine


async def test_forged_signer_is_not_genuine(signer: Signer, keys: PublicKeyCache) -> None:
    verdict = await verify_delivery(BODY, signer.headers(BODY, "evt-1", forged=True), keys)

    assert not verdict.genuine
    assert "no digital signature verifies" in verdict.reason


async def test_body_changed_after_signing_is_not_genuine(
    signer: Signer, keys: PublicKeyCache
) -> None:
    headers = signer.headers(BODY, "evt-1")

    verdict = await verify_delivery(BODY.replace(b"evt-1", b"evt-9"), headers, keys)

    assert not verdict.genuine


async def test_missing_headers_are_reported_as_missing(keys: PublicKeyCache, host: KeyHost) -> None:
    verdict = await verify_delivery(BODY, {"content-type": "application/json"}, keys)

    assert not verdict.genuine
    assert "missing" in verdict.reason
    assert host.requests == []


async def test_signature_without_its_key_path_counts_as_missing(
    signer: Signer, keys: PublicKeyCache
) -> None:
    headers = signer.headers(BODY, "evt-1")
    del headers["x-adobe-public-key1-path"]
    del headers["x-adobe-public-key2-path"]

    verdict = await verify_delivery(BODY, headers, keys)

    assert not verdict.genuine
    assert "missing" in verdict.reason


@pytest.mark.parametrize(
    "path",
    [
        "https://evil/x.pem",
        "//evil.com/k.pem",
        "/../../etc/passwd",
        "/keys/../../k.pem",
        "/keys/k.pem?x=1",
        "/keys/k.pem#frag",
        "/keys/k.txt",
        "/keys/k",
        "keys/k.pem",
        "/keys/k.pem/",
        "/keys/.pem",
        "/keys/%2e%2e/k.pem",
        "/keys/k.pem\n",
        "@evil.com/k.pem",
        "",
    ],
)
async def test_hostile_key_paths_are_never_fetched(
    path: str, signer: Signer, keys: PublicKeyCache, host: KeyHost
) -> None:
    headers = signer.headers(BODY, "evt-1")
    headers["x-adobe-public-key1-path"] = path
    headers["x-adobe-public-key2-path"] = path

    verdict = await verify_delivery(BODY, headers, keys)

    assert not verdict.genuine
    assert host.requests == []
    assert await keys.key(path) is None
    assert host.requests == []


async def test_keys_are_cached_within_the_ttl(
    signer: Signer, keys: PublicKeyCache, host: KeyHost, clock: FakeTime
) -> None:
    headers = signer.headers(BODY, "evt-1")
    assert (await verify_delivery(BODY, headers, keys)).genuine
    fetched = len(host.requests)

    clock.now += TTL - 1
    assert (await verify_delivery(BODY, headers, keys)).genuine

    assert fetched == 1
    assert len(host.requests) == fetched


async def test_keys_are_fetched_again_after_the_ttl(
    signer: Signer, keys: PublicKeyCache, host: KeyHost, clock: FakeTime
) -> None:
    headers = signer.headers(BODY, "evt-1")
    assert (await verify_delivery(BODY, headers, keys)).genuine

    clock.now += TTL
    assert (await verify_delivery(BODY, headers, keys)).genuine

    assert host.paths() == [KEY_PATHS[0], KEY_PATHS[0]]


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_key_host_errors_are_retriable(
    status: int, signer: Signer, keys: PublicKeyCache, host: KeyHost
) -> None:
    host.status = status

    with pytest.raises(RetriableError, match=str(status)):
        await verify_delivery(BODY, signer.headers(BODY, "evt-1"), keys)


async def test_unreachable_key_host_is_retriable(
    signer: Signer, keys: PublicKeyCache, host: KeyHost
) -> None:
    host.unreachable = True

    with pytest.raises(RetriableError, match="unreachable"):
        await verify_delivery(BODY, signer.headers(BODY, "evt-1"), keys)


async def test_key_host_recovering_is_not_remembered_as_a_failure(
    signer: Signer, keys: PublicKeyCache, host: KeyHost
) -> None:
    host.status = 503
    with pytest.raises(RetriableError):
        await verify_delivery(BODY, signer.headers(BODY, "evt-1"), keys)

    host.status = None
    assert (await verify_delivery(BODY, signer.headers(BODY, "evt-1"), keys)).genuine


async def test_unknown_key_path_is_not_genuine(signer: Signer, keys: PublicKeyCache) -> None:
    headers = signer.headers(BODY, "evt-1")
    headers["x-adobe-public-key1-path"] = "/prod/keys/retired-1.pem"
    headers["x-adobe-public-key2-path"] = "/prod/keys/retired-2.pem"

    verdict = await verify_delivery(BODY, headers, keys)

    assert not verdict.genuine
    assert "no digital signature verifies" in verdict.reason


async def test_key_that_is_not_a_pem_is_not_genuine(signer: Signer, clock: FakeTime) -> None:
    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>not a key</html>")

    cache = PublicKeyCache(KEY_HOST, transport=httpx.MockTransport(garbage), clock=clock.clock)
    try:
        verdict = await verify_delivery(BODY, signer.headers(BODY, "evt-1"), cache)
    finally:
        await cache.aclose()

    assert not verdict.genuine


@pytest.mark.parametrize("signature", ["not base64!!", "%%%%", "YWJj=extra"])
async def test_non_base64_signature_is_not_genuine(
    signature: str, signer: Signer, keys: PublicKeyCache
) -> None:
    headers = signer.headers(BODY, "evt-1")
    headers["x-adobe-digital-signature-1"] = signature
    headers["x-adobe-digital-signature-2"] = signature

    verdict = await verify_delivery(BODY, headers, keys)

    assert not verdict.genuine


async def test_unknown_key_path_is_asked_for_once_then_remembered_as_missing(
    signer: Signer, keys: PublicKeyCache, host: KeyHost, clock: FakeTime
) -> None:
    headers = {
        **signer.headers(BODY, "evt-1"),
        "x-adobe-public-key1-path": "/prod/keys/made-up.pem",
        "x-adobe-public-key2-path": "/prod/keys/made-up.pem",
    }

    for _ in range(5):
        assert not (await verify_delivery(BODY, headers, keys)).genuine
    clock.now += 301
    await verify_delivery(BODY, headers, keys)

    assert host.paths().count("/prod/keys/made-up.pem") == 2
