"""Adobe I/O Events delivery signatures: RSA-SHA256 over the raw body, public keys fetched and cached."""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from connectors.errors import RetriableError

log = logging.getLogger(__name__)

SIGNATURE_HEADERS = ("x-adobe-digital-signature-1", "x-adobe-digital-signature-2")
KEY_PATH_HEADERS = ("x-adobe-public-key1-path", "x-adobe-public-key2-path")

# The key path comes from the request: only plain absolute paths to a .pem file are fetched,
# so a forged header cannot point the worker at another host or walk the key server.
_KEY_PATH = re.compile(
    r"^/(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*/)*[A-Za-z0-9_~-][A-Za-z0-9._~-]*\.pem$"
)
_MAX_KEY_BYTES = 16 * 1024
# A path the key host does not know is remembered for a while, so forged deliveries naming
# made-up key paths cannot make us call the key host once per request.
MISSING_KEY_TTL = 300.0


@dataclass(frozen=True)
class Verdict:
    """Whether a delivery is genuine, and if not, why."""

    genuine: bool
    reason: str = ""


class PublicKeyCache:
    """Fetches Adobe's PEM public keys from the key host and keeps them for a while."""

    def __init__(
        self,
        host: str,
        *,
        ttl: float = 24 * 3600,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host = host.rstrip("/")
        self._ttl = ttl
        self._clock = clock
        self._keys: dict[str, tuple[float, rsa.RSAPublicKey]] = {}
        self._missing: dict[str, float] = {}
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def key(self, path: str) -> rsa.RSAPublicKey | None:
        """The key at `path`, or None when the path is not acceptable or holds no RSA key."""
        if not _KEY_PATH.fullmatch(path):
            return None
        cached = self._keys.get(path)
        now = self._clock()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        missing_since = self._missing.get(path)
        if missing_since is not None and now - missing_since < MISSING_KEY_TTL:
            return None
        pem = await self._fetch(path)
        if pem is None:
            if len(self._missing) > 1000:
                self._missing.clear()
            self._missing[path] = now
            return None
        try:
            key = load_pem_public_key(pem)
        except ValueError:
            log.warning("public key is not a PEM", extra={"key_path": path})
            return None
        if not isinstance(key, rsa.RSAPublicKey):
            return None
        self._keys[path] = (now, key)
        return key

    async def _fetch(self, path: str) -> bytes | None:
        try:
            response = await self._http.get(self._host + path)
        except httpx.HTTPError as exc:
            raise RetriableError(f"public key host unreachable: {type(exc).__name__}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RetriableError(f"public key host answered {response.status_code}")
        return response.content[:_MAX_KEY_BYTES]


def _signature_matches(key: rsa.RSAPublicKey, signature_b64: str, body: bytes) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


async def verify_delivery(body: bytes, headers: Mapping[str, str], keys: PublicKeyCache) -> Verdict:
    """Genuine when either digital signature verifies against the key its header names."""
    lowered = {name.lower(): value for name, value in headers.items()}
    tried = False
    for signature_header, path_header in zip(SIGNATURE_HEADERS, KEY_PATH_HEADERS, strict=True):
        signature = lowered.get(signature_header)
        path = lowered.get(path_header)
        if not signature or not path:
            continue
        tried = True
        key = await keys.key(path)
        if key is not None and _signature_matches(key, signature, body):
            return Verdict(True)
    if not tried:
        return Verdict(False, "missing x-adobe-digital-signature or public key path headers")
    return Verdict(False, "no digital signature verifies")
