"""Every client operation, written once as a generator of I/O actions (sans-IO).

An operation yields :class:`Send`, :class:`Sleep` and :class:`Emit` actions; the sync and the async
client each run the same operations with their own I/O. So retry, polling and download rules
exist in exactly one place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .download import VideoSink, target_path, url_age
from .errors import (
    DownloadError,
    OmniConnectionError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    URLExpiredError,
    WaitTimeoutError,
)
from .requests import Request
from .responses import MalformedBody, api_error, json_body, redact
from .retry import NOT_SENT, RetryNotice, RetryPolicy, describe_failure
from .task import Task

logger = logging.getLogger("omni_widgets")

T = TypeVar("T")
Update = Task | RetryNotice


@dataclass(frozen=True)
class Send:
    """Send a request; with a sink, stream a 200 body into it. Answers the response."""

    request: httpx.Request
    sink: VideoSink | None = None


@dataclass(frozen=True)
class Sleep:
    """Wait this many seconds."""

    seconds: float


@dataclass(frozen=True)
class Emit:
    """Report progress (a task that changed, or a retry notice) to whoever is watching."""

    update: Update


Action = Send | Sleep | Emit
Op = Generator[Action, Any, T]
MIN_POLL_S = 1.0
EXPIRED_STATUSES = (403, 404, 410)


@dataclass
class Context:
    """What operations need from their client: how to build requests, retry and tell time."""

    build: Callable[..., httpx.Request]
    policy: RetryPolicy
    poll_interval: float
    clock: Callable[[], float]


def send_op(
    ctx: Context,
    request: httpx.Request,
    *,
    create: bool = False,
    task_id: str | None = None,
    sink: VideoSink | None = None,
) -> Op[httpx.Response]:
    """Send with the retry rules; raise the mapped error when retrying is not allowed."""
    retries = server_retries = 0
    while True:
        try:
            response: httpx.Response = yield Send(request, sink)
        except httpx.HTTPError as exc:
            delay = ctx.policy.after_error(exc, retries, create)
            if delay is None:
                raise _connection_error(exc, request, create, task_id) from None
            failure: httpx.Response | httpx.HTTPError = exc
        else:
            expired = sink is not None and response.status_code in EXPIRED_STATUSES
            if response.status_code < 400 or expired:
                return response
            delay = ctx.policy.after_status(response, retries, server_retries, create)
            if delay is None:
                raise api_error(response, task_id)
            failure = response
            server_retries += response.status_code >= 500
        retries += 1
        notice = RetryNotice(
            describe_failure(failure), delay, retries + 1, ctx.policy.max_retries + 1, task_id
        )
        logger.warning(notice.message)
        yield Emit(notice)
        yield Sleep(delay)


def submit_op(ctx: Context, request: Request) -> Op[Task]:
    """Create a task. Never sent twice unless the service provably did not receive it."""
    http_request = ctx.build("POST", "/v1/videos/generations", json=request.to_payload())
    response = yield from send_op(ctx, http_request, create=True)
    try:
        task = Task.from_json(json_body(response), request=request)
    except (MalformedBody, ValueError) as exc:
        raise OutcomeUnknownError(
            f"the service accepted the {request.model} request (HTTP {response.status_code}) but "
            f"its answer was unreadable ({exc}); a task may have been created and billed, so it "
            "was not sent again: check your dashboard before resubmitting"
        ) from None
    logger.info("created task %s (%s)", task.id, task.model)
    return task


def get_op(ctx: Context, task_id: str) -> Op[Task]:
    """Fetch a task's current state, retrying transient failures."""
    request = ctx.build("GET", f"/v1/tasks/{task_id}")
    for attempt in range(ctx.policy.max_retries + 1):
        response = yield from send_op(ctx, request, task_id=task_id)
        try:
            return Task.from_json(json_body(response))
        except (MalformedBody, ValueError) as exc:
            if attempt == ctx.policy.max_retries:
                raise ServerError(
                    response.status_code, None, f"unreadable answer: {exc}", None, task_id
                ) from None
            yield Sleep(ctx.policy.backoff(attempt + 1))
    raise AssertionError("unreachable")


def wait_op(ctx: Context, task: Task, timeout: float | None, *, poll_now: bool) -> Op[Task]:
    """Poll until the task ends; emit each change; raise on failure, cancellation or timeout.

    The first poll waits about half the estimated time; later ones every ``poll_interval``
    seconds (never more often than once a second). A poll that keeps failing transiently is
    reported and tried again later: it never ends the wait.
    """
    start = ctx.clock()
    deadline = None if timeout is None else start + timeout
    interval = max(MIN_POLL_S, ctx.poll_interval)
    delay = 0.0 if poll_now or task.is_terminal else max(MIN_POLL_S, (task.estimated_time or 0) / 2)
    while not task.is_terminal:
        if deadline is not None:
            remaining = deadline - ctx.clock()
            if remaining <= 0:
                raise WaitTimeoutError(task, timeout or 0.0)
            delay = min(delay, remaining)
        if delay > 0:
            yield Sleep(delay)
        delay = interval
        try:
            newer = task.updated((yield from get_op(ctx, task.id)))
        except (ServerError, RateLimitError, OmniConnectionError) as exc:
            notice = RetryNotice(f"status check failed ({exc})", interval, 1, 1, task.id)
            logger.warning(notice.message)
            yield Emit(notice)
            continue
        if (newer.status, newer.progress) != (task.status, task.progress):
            yield Emit(newer)
        task = newer
    if task.status != "completed":
        raise TaskFailedError(task)
    return task


def download_op(ctx: Context, task: Task, dest: str | os.PathLike[str] | None) -> Op[Path]:
    """Save the video (once: a second call returns the saved file), with its JSON sidecar."""
    target = target_path(task, dest)
    if target.is_file() and target.stat().st_size > 0:
        return target
    if task.status != "completed" or not task.video_url:
        raise DownloadError(task.id, f"the task is {task.status}, not completed with a video URL")
    sink = VideoSink(task, target)
    request = httpx.Request("GET", task.video_url)
    try:
        response = yield from send_op(ctx, request, task_id=task.id, sink=sink)
        if response.status_code in EXPIRED_STATUSES:
            raise URLExpiredError(
                task.id,
                f"the video URL answered HTTP {response.status_code}: it has probably expired; "
                f"it was {url_age(task)}",
            )
        path = sink.commit(response)
    finally:
        sink.discard()
    logger.info("saved task %s to %s", task.id, path)
    return path


def _connection_error(
    exc: httpx.HTTPError, request: httpx.Request, create: bool, task_id: str | None
) -> OmniConnectionError:
    what = f"{request.method} {request.url.copy_with(query=None)}"
    about = f" (task {task_id})" if task_id else ""
    if create and not isinstance(exc, NOT_SENT):
        return OutcomeUnknownError(
            f"{what} was sent but no answer came ({type(exc).__name__}): a task may have been "
            "created and billed, so it was not sent again; check your dashboard, or wait a "
            "minute, before resubmitting"
        )
    settled = "; nothing reached the service, so no task was created" if create else ""
    # An httpx error can quote what the server sent (a garbled status line, say): no key in it.
    cause = redact(str(exc), request)
    return OmniConnectionError(f"{what}{about} failed: {type(exc).__name__}: {cause}{settled}")
