"""REST authentication as a Commerce integration sees it: OAuth 1.0a (HMAC-SHA256) or Bearer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

SIGNATURE_METHODS = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}
_PARAM = re.compile(r'([A-Za-z0-9_]+)\s*=\s*"([^"]*)"')


@dataclass(frozen=True)
class IntegrationCredentials:
    """The four credentials of a Commerce integration; the access token also works as a Bearer
    token when the store allows it (`bearer_enabled`, Commerce's "use as standalone Bearer")."""

    consumer_key: str = "cartwright-consumer-key"
    consumer_secret: str = "cartwright-consumer-secret"  # noqa: S105 - a sandbox's fixed secret
    access_token: str = "cartwright-access-token"  # noqa: S105
    access_token_secret: str = "cartwright-access-token-secret"  # noqa: S105
    bearer_enabled: bool = True


def encode(text: str) -> str:
    """RFC 5849 §3.6 percent-encoding: everything but unreserved characters."""
    return quote(text, safe="-._~")


def base_string_uri(url: str) -> str:
    """Scheme and host lower-cased, default ports dropped, the path as sent, no query."""
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    authority = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{authority}{parts.path or '/'}"


def signature_base_string(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 §3.4.1: METHOD & URI & the sorted, encoded parameters (query, oauth_*, form)."""
    pairs = sorted(
        (encode(k), encode(v)) for k, v in params if k not in ("oauth_signature", "realm")
    )
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join((method.upper(), encode(base_string_uri(url)), encode(normalized)))


def sign(base: str, consumer_secret: str, token_secret: str, method: str = "HMAC-SHA256") -> str:
    key = f"{encode(consumer_secret)}&{encode(token_secret)}".encode()
    digest = hmac.new(key, base.encode(), SIGNATURE_METHODS[method]).digest()
    return base64.b64encode(digest).decode("ascii")


def oauth_params(header: str) -> dict[str, str] | None:
    """The parameters of an `Authorization: OAuth k="v", …` header, decoded."""
    if not header.lower().startswith("oauth "):
        return None
    return {key: unquote(value) for key, value in _PARAM.findall(header[6:])}


class RestAuth:
    """Decides whether a REST request is the integration's; remembers nonces to refuse replays."""

    def __init__(self, credentials: IntegrationCredentials) -> None:
        self.credentials = credentials
        self._nonces: set[tuple[str, str, str]] = set()

    def allows(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        form: Iterable[tuple[str, str]] = (),
    ) -> bool:
        header = headers.get("Authorization", "")
        creds = self.credentials
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
            return creds.bearer_enabled and hmac.compare_digest(token, creds.access_token)
        params = oauth_params(header)
        return params is not None and self._oauth(method, url, params, form)

    def _oauth(
        self, method: str, url: str, params: dict[str, str], form: Iterable[tuple[str, str]]
    ) -> bool:
        creds = self.credentials
        signature_method = params.get("oauth_signature_method", "")
        nonce, timestamp = params.get("oauth_nonce", ""), params.get("oauth_timestamp", "")
        if (
            params.get("oauth_consumer_key") != creds.consumer_key
            or params.get("oauth_token") != creds.access_token
            or signature_method not in SIGNATURE_METHODS
            or params.get("oauth_version", "1.0") != "1.0"
            or not nonce
            or not timestamp.isdigit()
            or (creds.consumer_key, nonce, timestamp) in self._nonces
        ):
            return False
        query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
        oauth = [(k, v) for k, v in params.items() if k.startswith("oauth_")]
        base = signature_base_string(method, url, [*query, *oauth, *form])
        expected = sign(base, creds.consumer_secret, creds.access_token_secret, signature_method)
        if not hmac.compare_digest(expected, params.get("oauth_signature", "")):
            return False
        self._nonces.add((creds.consumer_key, nonce, timestamp))
        return True
