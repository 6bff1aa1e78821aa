"""Read the service's answers: JSON bodies, and HTTP errors mapped to exception classes."""

from __future__ import annotations

import json
from typing import Any

import httpx

from .errors import (
    APIError,
    AuthenticationError,
    InsufficientQuotaError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: InsufficientQuotaError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


class MalformedBody(ValueError):
    """A success answer whose body is not the JSON object the service documents."""


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object in a response, or MalformedBody."""
    try:
        data = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedBody(f"not JSON: {_snippet(response)}") from None
    if not isinstance(data, dict):
        raise MalformedBody(f"JSON but not an object: {_snippet(response)}")
    return data


def api_error(response: httpx.Response, task_id: str | None = None) -> APIError:
    """The exception for an HTTP error answer; integer and string error codes both work."""
    status = response.status_code
    code: str | None = None
    kind: str | None = None
    message = ""
    try:
        error = json_body(response).get("error")
    except MalformedBody:
        error = None
    if isinstance(error, dict):
        code = None if error.get("code") is None else str(error["code"])
        kind = None if error.get("type") is None else str(error["type"])
        message = str(error.get("message") or "")
    elif isinstance(error, str):
        message = error
    if not message:
        message = response.reason_phrase or _snippet(response)
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else APIError)
    return cls(status, code, message, kind, task_id)


def _snippet(response: httpx.Response, limit: int = 80) -> str:
    text = response.content[:limit].decode("utf-8", "replace").replace("\n", " ")
    return repr(text) if text else "empty body"
