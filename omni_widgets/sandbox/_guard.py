"""The gate in front of every route: refuse what a trustworthy local service must not serve.

A web page in the user's browser can reach 127.0.0.1, directly or through a DNS name rebound to it,
so the gate checks the Host header against the addresses the sandbox serves and lets POSTs with a
body in only as JSON (a cross-site form or `text/plain` fetch cannot send that without a CORS
preflight, which is never granted; a POST without body or type is left to the routes' 400). It
also refuses bodies over a size limit before reading them, and keeps the `/_sandbox/` admin
endpoints to the sandbox's own key.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._auth import SPECIAL_KEYS, bearer_key
from ._dialect import Dialect
from ._dialect_evolink import EVOLINK
from ._errors import error_body
from ._middleware import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from starlette.requests import Request

MAX_BODY = 100 * 1024 * 1024
"""Largest request body accepted (100 MiB): the largest valid create, six 10 MiB images as base64
(6 x 13.98 MB = 84 MB) plus the prompt, fits; anything bigger cannot be a valid request."""

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


@dataclass
class Guard:
    """Who may talk to the sandbox: its key, whether any other key works, the Host names it
    answers to (filled in once the port is known) and the body size limit."""

    api_key: str = field(repr=False)
    any_key: bool = True
    max_body: int = MAX_BODY
    hosts: frozenset[str] = field(default_factory=frozenset)

    def serve_at(self, host: str, port: int, extra: Iterable[str] = ()) -> None:
        """Accept Host headers naming a loopback address, `host` or an `extra` name, on `port`."""
        names = {*LOOPBACK_NAMES, _bracketed(host), *(_bracketed(name) for name in extra)}
        hosts = {f"{name.lower()}:{port}" for name in names}
        if port == 80:
            hosts |= {name.lower() for name in names}
        self.hosts = frozenset(hosts)

    def key_accepted(self, key: str) -> bool:
        """The sandbox's own key, a special error key, or (with `any_key`) any non-empty key."""
        return self.any_key or key in SPECIAL_KEYS or secrets.compare_digest(key, self.api_key)

    def is_admin(self, key: str | None) -> bool:
        """Only the sandbox's own key may use the `/_sandbox/` endpoints."""
        return key is not None and secrets.compare_digest(key, self.api_key)


class GuardMiddleware:
    """Answers refused requests itself; passes the others on untouched (the receive channel too,
    since the fault layer needs uvicorn's own to drop connections)."""

    def __init__(self, app: ASGIApp, guard: Guard, dialect: Dialect = EVOLINK) -> None:
        self.app = app
        self.guard = guard
        self.dialect = dialect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                status, body, headers = refusal
                await _answer(send, status, body, headers, head=scope["method"] == "HEAD")
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host")
        if host is None:
            return 400, error_body("missing_host", "A Host header is required", _INVALID), {}
        if host.lower() not in self.guard.hosts:
            message = f"This server does not serve host {host[:100]!r}"
            return 421, error_body("misdirected_request", message, _INVALID), {}
        path: str = scope["path"]
        key = bearer_key(headers.get("authorization"))
        if path.startswith("/_sandbox/"):
            if not self.guard.is_admin(key):
                message = "The /_sandbox/ endpoints need the sandbox's own key as a Bearer token"
                return 401, error_body("unauthorized", message, "authentication_error"), {}
        elif path.startswith("/v1/") and key is not None and not self.guard.key_accepted(key):
            if path == self.dialect.create_path:
                return 401, self.dialect.error("create", 401), {}
            return 401, self.dialect.error("query", 401), {}
        if scope["method"] != "POST":
            return None
        content_type = headers.get("content-type", "")
        length = headers.get("content-length")
        bodyless = length in (None, "0") and "transfer-encoding" not in headers
        if not _is_json(content_type) and not (bodyless and not content_type):
            message = f"Content-Type must be application/json, got {content_type[:100]!r}"
            return 415, error_body("unsupported_media_type", message, _INVALID), {}
        if length is not None and (not length.isdigit() or int(length) > self.guard.max_body):
            return too_large(self.guard.max_body)
        return None


_INVALID = "invalid_request_error"


def too_large(limit: int) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The 413 answer; the connection closes, since the rest of the body is never read."""
    message = f"Request body exceeds the limit of {limit} bytes"
    body = error_body("request_too_large", message, _INVALID)
    return 413, body, {"connection": "close"}


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it grows past `limit` bytes (the rest stays unread)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


async def _answer(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str], *, head: bool
) -> None:
    data = json.dumps(body).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        *((name.encode(), value.encode()) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b"" if head else data})
