"""HTTP Basic auth for the Dotdigital API user, keeping the password a `SecretStr` until sent."""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx
from pydantic import SecretStr

from connectors.privacy import mask_email


class ApiUserAuth(httpx.Auth):
    """Adds `Authorization: Basic …` per request; nothing on the object reveals the password."""

    def __init__(self, username: str, password: SecretStr) -> None:
        self._username = username
        self._password = password

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = f"{self._username}:{self._password.get_secret_value()}".encode()
        request.headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        yield request

    def __repr__(self) -> str:
        return f"ApiUserAuth(username={mask_email(self._username)!r}, password=SecretStr('**'))"
