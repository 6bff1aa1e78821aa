"""The wire layer: logs every request and applies the configured faults before the routes see
anything.

It is a raw ASGI wrapper because some faults cannot be expressed as a response: a dropped connection
must close the socket before any response byte is written.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._dialect import Dialect
from ._dialect_evolink import EVOLINK
from ._errors import storage_error
from ._faults import Endpoint, Fault
from ._state import SandboxState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PROXY_TEXT = (
    b"upstream connect error or disconnect/reset before headers. "
    b"reset reason: connection termination"
)
PROXY_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>Network login</title></head><body>"
    b"<h1>Please sign in to continue</h1><p>This network requires you to accept the terms of "
    b"use before you can browse.</p></body></html>\n"
)


def endpoint_of(method: str, path: str, dialect: Dialect = EVOLINK) -> Endpoint | None:
    """Which faultable endpoint a request targets in `dialect`, if any."""
    return dialect.endpoint_of(method, path)


class WireMiddleware:
    """Wraps the routes: request log, latency, refusals, dropped connections and garbled bodies."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.state.last_request = time.monotonic()
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox/"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        dialect = self.state.dialect
        endpoint = endpoint_of(method, path, dialect)
        logged = False

        def log(status: int) -> None:
            # Logged before the reply leaves, so a client that got it also finds it in the log.
            nonlocal logged
            if not logged:
                logged = True
                self.state.recorder.request(method, path, status)

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                log(message["status"])
            await send(message)

        try:
            decision = self.state.faults.decide(endpoint) if endpoint else None
            if decision and decision.delay:
                await asyncio.sleep(decision.delay)
            fault = decision.fault if decision else None
            if fault is None or endpoint is None:
                await self.app(scope, receive, watch)
            elif fault.kind == "server_error" and fault.after:
                made = await _process(self.app, scope, receive)
                await _refuse(fault, endpoint, scope, watch, dialect, _task_id(made))
            elif fault.kind in ("rate_limit", "server_error"):
                await _drain(receive)
                await _refuse(fault, endpoint, scope, watch, dialect)
            elif fault.kind == "html":
                await _drain(receive)
                await _proxy_page(scope, watch)
            elif fault.kind == "drop":
                await self._drop(scope, receive, lambda: log(0), after=fault.after)
            else:
                await self._garble(scope, receive, watch, fault)
        finally:
            log(0)

    async def _drop(
        self, scope: Scope, receive: Receive, log: Callable[[], None], *, after: bool
    ) -> None:
        """Close the socket without answering; with `after`, let the routes act first."""
        if after:

            async def discard(message: Message) -> None:
                return None

            await self.app(scope, receive, discard)
        else:
            await _drain(receive)
        # uvicorn hands each request a cycle object whose bound `receive` knows the connection.
        cycle = getattr(receive, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if not isinstance(transport, asyncio.BaseTransport):
            raise RuntimeError(
                "cannot drop the connection: the server does not expose its transport"
            )
        log()
        transport.close()
        # Let the server see the disconnect, or it would try to send a 500 on our behalf.
        for _ in range(20):
            if getattr(cycle, "disconnected", True):
                break
            await asyncio.sleep(0)

    async def _garble(self, scope: Scope, receive: Receive, send: Send, fault: Fault) -> None:
        """Process the request, then send its status with a truncated or non-JSON body."""
        made = await _process(self.app, scope, receive)
        if made is None:
            return
        start, body = made
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        if fault.kind == "truncate":
            body = body[: len(body) // 2]
        elif fault.body == "text":
            body = PROXY_TEXT
            headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
            headers.append((b"content-type", b"text/plain; charset=utf-8"))
        else:
            body = body[: len(body) // 2]
        if fault.kind != "truncate" or fault.content_length:
            headers.append((b"content-length", str(len(body)).encode()))
        if scope["method"] == "HEAD":
            body = b""
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _process(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes] | None:
    """Let the routes handle the request; keep their answer (start message and body) unsent."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return None if start is None else (start, b"".join(chunks))


def _task_id(made: tuple[Message, bytes] | None) -> str | None:
    """The id of the task a create just made, if its answer was a task."""
    if made is None or made[0]["status"] != 200:
        return None
    try:
        task_id = json.loads(made[1]).get("id")
    except (ValueError, AttributeError):
        return None
    return task_id if isinstance(task_id, str) else None


async def _proxy_page(scope: Scope, send: Send) -> None:
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(PROXY_HTML)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send(
        {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else PROXY_HTML}
    )


async def _drain(receive: Receive) -> None:
    """Read the whole request body, so the request has fully arrived before we misbehave."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _refuse(
    fault: Fault,
    endpoint: Endpoint,
    scope: Scope,
    send: Send,
    dialect: Dialect,
    task_id: str | None = None,
) -> None:
    """Answer 429 or 500 in the endpoint's error shape; a 500 after a create names its task."""
    status = 429 if fault.kind == "rate_limit" else 500
    if endpoint == "download":
        body = storage_error(status, scope["path"]).encode()
        content_type = b"application/xml"
    else:
        error = dialect.error(endpoint, status)
        if task_id is not None:
            error["error"]["message"] += f" (upstream failed after creating task {task_id})"
        body = json.dumps(error).encode()
        content_type = b"application/json"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    retry_after = fault.retry_after
    if retry_after is None and status == 429:
        retry_after = dialect.default_retry_after
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
