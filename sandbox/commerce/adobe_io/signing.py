"""Adobe I/O Events' side of signatures: a key pair per key path, RSA-SHA256 signatures of the body."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_PATHS = ("/prod/keys/pub-key-cartwright-1.pem", "/prod/keys/pub-key-cartwright-2.pem")


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Signer:
    """Signs delivery bodies the way Adobe I/O does, with two keys published at two paths."""

    paths: tuple[str, str] = KEY_PATHS
    _keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey] = field(
        default_factory=lambda: (_new_key(), _new_key()), repr=False
    )

    def public_pem(self, path: str) -> bytes | None:
        """The PEM served at `path`, or None when no key lives there."""
        for key_path, key in zip(self.paths, self._keys, strict=True):
            if key_path == path:
                return key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
        return None

    def headers(self, body: bytes, event_id: str, *, forged: bool = False) -> dict[str, str]:
        """The signature headers of one delivery; `forged` signs with a key nobody published."""
        keys = (_new_key(), _new_key()) if forged else self._keys
        signatures = [
            base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")
            for key in keys
        ]
        return {
            "content-type": "application/cloudevents+json; charset=utf-8",
            "x-adobe-event-id": event_id,
            "x-adobe-digital-signature-1": signatures[0],
            "x-adobe-digital-signature-2": signatures[1],
            "x-adobe-public-key1-path": self.paths[0],
            "x-adobe-public-key2-path": self.paths[1],
        }
