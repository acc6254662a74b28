"""Dotdigital's two error shapes: v2 `{"message"}` and v3 `{"errorCode", "description", …}`."""

from __future__ import annotations

from typing import Any

UNAUTHORIZED_MESSAGE = "Authorization has been denied for this request."


class ApiError(Exception):
    """An error answer: raised by handlers, written out by the gate middleware."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def v2_error(status: int, message: str) -> ApiError:
    """A v2 error; `message` ends with the ERROR_ code, e.g. `Error: ERROR_CONTACT_NOT_FOUND`."""
    return ApiError(status, {"message": message})


def v3_error(
    status: int, code: str, description: str, details: list[dict[str, str]] | None = None
) -> ApiError:
    """A v3 error with `<service>:<code>` and optional `{item, description}` details."""
    return ApiError(
        status, {"errorCode": code, "description": description, "details": details or []}
    )


def v3_detail(item: str, description: str) -> dict[str, str]:
    return {"item": item, "description": description}


def for_path(path: str, status: int, v2_message: str, v3_code: str, description: str) -> ApiError:
    """The same failure in whichever shape the path's API version uses."""
    if path.startswith("/v2/"):
        return v2_error(status, v2_message)
    return v3_error(status, v3_code, description)
