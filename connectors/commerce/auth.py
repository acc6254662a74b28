"""Adobe Commerce REST credentials as httpx auth flows: Bearer tokens and OAuth 1.0a signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator, Iterable
from typing import Literal
from urllib.parse import parse_qsl, quote

import httpx
from pydantic import SecretStr

SignatureMethod = Literal["HMAC-SHA256", "HMAC-SHA1"]

_DIGESTS = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_FORM = "application/x-www-form-urlencoded"


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer …` with an integration or admin token; the token never shows."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=SecretStr('**********'))"


class OAuth1Auth(httpx.Auth):
    """Signs each request per RFC 5849 with an integration's four credentials (HMAC-SHA256).

    Each send (retries included) gets a fresh nonce and timestamp from `nonce_source` and
    `clock` (epoch seconds), both injectable so tests can check a known signature.
    """

    # Form-encoded bodies are part of the signature, so httpx must read the body before us.
    requires_request_body = True

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: SecretStr,
        access_token: str,
        access_token_secret: SecretStr,
        *,
        clock: Callable[[], float] = time.time,
        nonce_source: Callable[[], str] = lambda: secrets.token_hex(16),
        signature_method: SignatureMethod = "HMAC-SHA256",
    ) -> None:
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self._access_token = access_token
        self._access_token_secret = access_token_secret
        self._clock = clock
        self._nonce_source = nonce_source
        self._method = signature_method

    def __repr__(self) -> str:
        return (
            f"OAuth1Auth(consumer_key={self._consumer_key!r}, consumer_secret=SecretStr('**'), "
            f"access_token={self._access_token!r}, access_token_secret=SecretStr('**'), "
            f"signature_method={self._method!r})"
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.authorization(request)
        yield request

    def authorization(self, request: httpx.Request) -> str:
        """The `Authorization: OAuth …` header value for this request, signed now."""
        protocol = [
            ("oauth_consumer_key", self._consumer_key),
            ("oauth_nonce", self._nonce_source()),
            ("oauth_signature_method", self._method),
            ("oauth_timestamp", str(int(self._clock()))),
            ("oauth_token", self._access_token),
            ("oauth_version", "1.0"),
        ]
        base = signature_base_string(
            request.method, request.url, [*request_parameters(request), *protocol]
        )
        signature = sign(
            base,
            self._consumer_secret.get_secret_value(),
            self._access_token_secret.get_secret_value(),
            self._method,
        )
        fields = [("realm", ""), *protocol, ("oauth_signature", signature)]
        return "OAuth " + ", ".join(f'{name}="{percent_encode(value)}"' for name, value in fields)


def percent_encode(value: str) -> str:
    """RFC 5849 §3.6 / RFC 3986: UTF-8, then everything but `A-Z a-z 0-9 - . _ ~` as `%XX`."""
    return quote(value, safe="")


def request_parameters(request: httpx.Request) -> list[tuple[str, str]]:
    """The query parameters and, for form-encoded bodies, the body parameters (§3.4.1.3.1)."""
    params = _form_pairs(request.url.query.decode("ascii"))
    if request.headers.get("Content-Type", "").split(";")[0].strip().lower() == _FORM:
        params += _form_pairs(request.content.decode("utf-8"))
    return [(name, value) for name, value in params if name != "oauth_signature"]


def base_string_uri(url: httpx.URL) -> str:
    """Lower-case scheme and host, the port only when not the default, the path as sent."""
    scheme = url.scheme.lower()
    host = url.raw_host.decode("ascii").lower()
    port = "" if url.port in (None, _DEFAULT_PORTS.get(scheme)) else f":{url.port}"
    path = url.raw_path.decode("ascii").split("?", 1)[0] or "/"
    return f"{scheme}://{host}{port}{path}"


def normalized_parameters(params: Iterable[tuple[str, str]]) -> str:
    """Encode names and values, sort by name then value, join as `n=v&…` (§3.4.1.3.2)."""
    encoded = sorted((percent_encode(name), percent_encode(value)) for name, value in params)
    return "&".join(f"{name}={value}" for name, value in encoded)


def signature_base_string(
    method: str, url: httpx.URL | str, params: Iterable[tuple[str, str]]
) -> str:
    """`METHOD&enc(base URI)&enc(normalized parameters)` (§3.4.1); `params` exclude the realm."""
    target = httpx.URL(url) if isinstance(url, str) else url
    return "&".join(
        [
            method.upper(),
            percent_encode(base_string_uri(target)),
            percent_encode(normalized_parameters(params)),
        ]
    )


def sign(
    base_string: str,
    consumer_secret: str,
    token_secret: str,
    method: SignatureMethod = "HMAC-SHA256",
) -> str:
    """Base64 HMAC of the base string keyed `enc(consumer secret)&enc(token secret)` (§3.4.2)."""
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    digest = hmac.new(key.encode(), base_string.encode(), _DIGESTS[method]).digest()
    return base64.b64encode(digest).decode("ascii")


def _form_pairs(text: str) -> list[tuple[str, str]]:
    # A bare `name` counts as `name=` (RFC 5849's own example has `c2` with no value).
    return parse_qsl(text, keep_blank_values=True) if text else []
