"""The HTTP routes: the gateway's two API paths (in the state's dialect), the result files, and the
`/_sandbox/` admin endpoints.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ._auth import bearer_key, owner_of, special_status
from ._callbacks import CallbackDispatcher, check_callback_host
from ._dialect import Refused
from ._errors import invalid_request, method_not_allowed, not_found, storage_error
from ._failures import DirectiveError
from ._faults import Fault
from ._files import MediaCache
from ._guard import Guard, GuardMiddleware, read_body, too_large
from ._middleware import ASGIApp, WireMiddleware
from ._render import plan_video
from ._state import SandboxState
from ._tasks import Task
from ._validate import RequestError


def build_app(state: SandboxState, guard: Guard) -> ASGIApp:
    """The sandbox's ASGI application, wrapped in the wire layer that logs and misbehaves, behind
    the guard that refuses foreign hosts, wrong keys, non-JSON POSTs and oversized bodies."""
    dialect = state.dialect

    async def json_of(request: Request) -> Any:
        """The parsed body; `_TooLarge` past the size limit, ValueError when not JSON."""
        data = await read_body(request, guard.max_body)
        if data is None:
            raise _TooLarge
        return json.loads(data)

    def refuse_too_large() -> Response:
        status, body, headers = too_large(guard.max_body)
        return JSONResponse(body, status_code=status, headers=headers)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        assert state.files_dir is not None, "the owner sets files_dir before serving"
        state.media = MediaCache(state.files_dir)
        state.callbacks = CallbackDispatcher(
            state.recorder,
            state.callback_retry_delays,
            allow_loopback=state.allow_loopback_callbacks,
        )
        state.tasks.on_expire = state.media.forget
        try:
            yield
        finally:
            state.tasks.on_expire = None
            await state.callbacks.aclose()
            await state.media.aclose()
            state.media = state.callbacks = None

    async def create(request: Request) -> Response:
        key = bearer_key(request.headers.get("authorization"))
        if key is None or special_status(key) == 401:
            return _json(dialect.error("create", 401), 401)
        try:
            body = await json_of(request)
        except _TooLarge:
            return refuse_too_large()
        except ValueError:
            return _json(dialect.invalid_request("request body must be valid JSON", None), 400)
        refusal: Refused | None = None
        text, fail_code = "", None
        try:
            model, valid = dialect.validate(
                body, allow_loopback_callbacks=state.allow_loopback_callbacks
            )
            try:
                text, fail_code = dialect.directives(valid.prompt)
            except Refused as exc:
                refusal = exc
            if valid.callback_url:
                await check_callback_host(valid.callback_url, state.allow_loopback_callbacks)
        except RequestError as exc:
            return _json(dialect.invalid_request(exc.message, exc.param), 400)
        except DirectiveError as exc:
            return _json(dialect.invalid_request(str(exc), "prompt"), 400)
        special = special_status(key)
        if special in (402, 403):
            return _json(dialect.error("create", special, model=model), special)
        if refusal is not None:
            return _json(dialect.refused(str(refusal)), 422)
        task = state.tasks.create(
            valid,
            plan_video(valid, text, state.resolution),
            owner=owner_of(key),
            base_url=str(request.base_url).rstrip("/"),
            speed=state.speed,
            fail_code=fail_code,
            model=model,
        )
        state.recorder.created(task.id)
        if valid.callback_url and state.callbacks is not None:
            state.callbacks.schedule(
                task.id, valid.callback_url, task.finishes_at, lambda: _finished_body(task)
            )
        return _json(dialect.create_body(task))

    def _finished_body(task: Task) -> dict[str, Any]:
        body = task.query_body(max(time.monotonic(), task.finishes_at))
        if body["status"] == "completed" and state.media is not None:
            state.media.start(task)
        return body

    async def query(request: Request) -> Response:
        key = bearer_key(request.headers.get("authorization"))
        if key is None or special_status(key) == 401:
            return _json(dialect.error("query", 401), 401)
        task_id = request.path_params["task_id"]
        bad_id = dialect.bad_task_id(task_id)
        if bad_id is not None:
            return _json(bad_id, 400)
        special = special_status(key)
        if special in (402, 403):
            return _json(dialect.error("query", special), special)
        task = state.tasks.get(task_id)
        if task is None:
            return _json(dialect.error("query", 404), 404)
        if task.owner != owner_of(key):
            status = dialect.foreign_task_status
            return _json(dialect.error("query", status), status)
        now = time.monotonic()
        body = dialect.query_body(task, now, state.ttl)
        if task.state(now)[0] == "completed" and state.media is not None:
            state.media.start(task)  # so the first download finds it ready
        return _json(body)

    async def download(request: Request) -> Response:
        name: str = request.path_params["name"]
        task = state.tasks.get(name.removesuffix(".mp4")) if name.endswith(".mp4") else None
        if task is not None and not secrets.compare_digest(
            request.path_params["token"], task.file_token
        ):
            task = None
        now = time.monotonic()
        if task is None or task.state(now)[0] != "completed" or state.media is None:
            return _xml(storage_error(404, request.url.path), 404)
        expires_in = task.finishes_at + state.ttl - now
        if expires_in <= 0:
            extra = {"Expires": _iso(time.time() + expires_in), "ServerTime": _iso(time.time())}
            return _xml(storage_error(403, request.url.path, extra), 403)
        path = await state.media.path(task)
        return FileResponse(
            path, media_type="video/mp4", headers={"Cache-Control": "private, max-age=86400"}
        )

    async def missing_file(request: Request) -> Response:
        return _xml(storage_error(404, request.url.path), 404)

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.clear()
        elif request.method == "POST":
            try:
                data = await json_of(request)
                items = data if isinstance(data, list) else [data]
                rules = [Fault.from_mapping(item) for item in items]
            except _TooLarge:
                return refuse_too_large()
            except (ValueError, TypeError, AttributeError) as exc:
                return _json(invalid_request(f"bad fault: {exc}", None), 400)
            for rule in rules:
                state.faults.add(rule)
        return _json({"faults": [rule.to_dict() for rule in state.faults.rules]})

    async def log(request: Request) -> Response:
        if request.method == "DELETE":
            state.recorder.clear()
        return _json(state.recorder.snapshot())

    async def config(request: Request) -> Response:
        if request.method == "POST":
            try:
                data = await json_of(request)
                unknown = set(data) - {"speed", "ttl", "record_ttl"}
                if unknown:
                    raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
                values = {name: float(data[name]) for name in data}
                if any(not value > 0 for value in values.values()):
                    raise ValueError("speed, ttl and record_ttl must be positive")
            except _TooLarge:
                return refuse_too_large()
            except (ValueError, TypeError, AttributeError) as exc:
                return _json(invalid_request(f"bad config: {exc}", None), 400)
            for name, value in values.items():
                setattr(state, name, value)
        return _json(
            {
                "speed": _finite(state.speed),
                "ttl": _finite(state.ttl),
                "record_ttl": _finite(state.record_ttl),
            }
        )

    async def about(request: Request) -> Response:
        return PlainTextResponse(dialect.about)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            body = method_not_allowed(request.method, request.url.path)
            return JSONResponse(body, status_code=405, headers=exc.headers)
        return _json(not_found(request.url.path), 404)

    routes = [
        Route("/", about),
        Route("/v1/videos/generations", create, methods=["POST"]),
        Route(dialect.query_route, query, methods=["GET"]),
        Route("/files/{token}/{name}", download, methods=["GET", "HEAD"]),
        Route("/files/{rest:path}", missing_file, methods=["GET", "HEAD"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/log", log, methods=["GET", "DELETE"]),
        Route("/_sandbox/config", config, methods=["GET", "POST"]),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={404: http_error, 405: http_error}
    )
    return GuardMiddleware(WireMiddleware(app, state), guard, dialect)


class _TooLarge(Exception):
    """The request body passed the size limit."""


def _json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _xml(body: str, status: int) -> Response:
    return Response(body, status_code=status, media_type="application/xml")


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _finite(value: float) -> float | str:
    """JSON has no infinity: report it as the string "inf"."""
    return value if value != float("inf") else "inf"
