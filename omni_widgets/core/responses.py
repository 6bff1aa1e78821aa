"""Read the service's answers: JSON bodies, and HTTP errors mapped to exception classes.

Whatever text a server sends back passes through here first, and the API key the request carried
is cut out of it: a server (or a proxy) that echoes the Authorization header into an error body,
a task's failure message or its reason phrase cannot make the key reach an exception, a repr, a
log line or a notice.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from .errors import (
    APIError,
)

REDACTED = "<redacted>"


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
    secrets = _secrets(response)
    if not _may_hold(response.content, secrets):
        return data
    scrubbed: dict[str, Any] = _scrub(data, secrets)
    return scrubbed


def _may_hold(content: bytes, secrets: tuple[str, ...]) -> bool:
    """Whether decoded JSON of ``content`` can contain a secret: only when the bytes hold it or
    an escape could spell it (a search of the bytes is much cheaper than walking every string)."""
    if not secrets or b"\\" in content:
        return bool(secrets)
    return any(secret.encode("utf-8") in content for secret in secrets)


def api_error(
    response: httpx.Response,
    task_id: str | None,
    classes: Callable[[int], type[APIError]],
) -> APIError:
    """The exception for an HTTP error answer; integer and string error codes both work.

    ``classes`` is the gateway's error table (status -> exception class, ``Gateway.error_rule``).
    """
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
        message = redact(response.reason_phrase, response) or _snippet(response)
    return classes(status)(status, code, message, kind, task_id)


def redact(text: str, source: httpx.Response | httpx.Request) -> str:
    """`text` with the API key of the request (or the request behind a response) replaced by a
    marker; for server text that reaches a message by other ways, e.g. inside an httpx error."""
    for secret in _secrets(source):
        text = text.replace(secret, REDACTED)
    return text


def protect_key(key: str) -> None:
    """Cut `key` out of httpx's own "HTTP Request: ..." log lines too, which quote the server's
    reason phrase before any of our code sees the answer. Call once per client."""
    global _protected
    forms = _forms(key)
    with _protect_lock:
        if not set(forms) <= set(_protected):
            _protected = tuple(sorted({*_protected, *forms}, key=len, reverse=True))
        if not _httpx_filter_installed.is_set():
            logging.getLogger("httpx").addFilter(_redact_record)
            _httpx_filter_installed.set()


_protected: tuple[str, ...] = ()
_protect_lock = threading.Lock()
_httpx_filter_installed = threading.Event()


def _redact_record(record: logging.LogRecord) -> bool:
    """A logging filter: rewrite the record's text arguments without the protected keys."""
    secrets = _protected
    if secrets and isinstance(record.args, tuple):
        record.args = tuple(
            arg if isinstance(arg, int | float) else _scrub(str(arg), secrets)
            for arg in record.args
        )
    return True


@functools.lru_cache(maxsize=8)  # every answer needs them; percent-encoding is not free
def _forms(key: str) -> tuple[str, ...]:
    """The key raw and percent-encoded (longest first); none when too short to cut out safely."""
    if len(key) < 4:  # too short to cut out without mangling ordinary text
        return ()
    return tuple(sorted({key, quote(key, safe="")}, key=len, reverse=True))


def _secrets(source: httpx.Response | httpx.Request) -> tuple[str, ...]:
    """The key the request sent, raw and percent-encoded (longest first), if it sent one."""
    try:
        request = source if isinstance(source, httpx.Request) else source.request
    except RuntimeError:  # a response built by hand has no request
        return ()
    authorization = request.headers.get("authorization", "")
    return _forms(authorization.partition(" ")[2].strip())


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """A copy of decoded JSON with every secret removed from its strings (keys included)."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    return value


def _snippet(response: httpx.Response, limit: int = 80) -> str:
    # Redact before cutting (over enough bytes to hold a key that starts inside the cut), so a
    # key split by the cut cannot half survive.
    longest = max((len(secret) for secret in _secrets(response)), default=0)
    head = response.content[: 4 * (limit + longest)].decode("utf-8", "replace")
    text = redact(head, response)[:limit].replace("\n", " ")
    return repr(text) if text else "empty body"
