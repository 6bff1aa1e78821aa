"""Every client operation, written once as a generator of I/O actions (sans-IO).

An operation yields :class:`Send`, :class:`Sleep`, :class:`Emit` and :class:`Call` actions; the
sync and the async client each run the same operations with their own I/O. So retry, polling and
download rules exist in exactly one place.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .download import IncompleteDownload, VideoSink, saved_problem, target_path, url_age
from .errors import (
    APIError,
    DownloadError,
    OmniConnectionError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    URLExpiredError,
    WaitTimeoutError,
)
from .gateway import DEFAULT_GATEWAY, Gateway, get_gateway
from .ids import check_task_id, find_task_id, is_task_id
from .requests import Request
from .responses import MalformedBody, api_error, json_body, redact
from .retry import NOT_SENT, RetryNotice, RetryPolicy, describe_failure
from .schedule import PollPlan
from .task import Task

logger = logging.getLogger("omni_widgets")

T = TypeVar("T")
Update = Task | RetryNotice


class Unsent(Exception):
    """Thrown into an operation stopped while its next request had not left: it waited for a
    request slot, or slept before a retry (a create retries only after a refusal that proves
    nothing was made). A create's record can then say that no task was made."""


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


@dataclass(frozen=True)
class Call:
    """Blocking work that is not a request (a ledger write): the sync client runs it in place,
    the async client on a worker thread, so its event loop never waits on the disk. Answers
    what ``work`` returns.

    ``abandoned`` runs with that answer (on a worker thread too) when the operation is stopped
    while the async client waits for the work: the work still finishes, and what it wrote may
    need saying otherwise, e.g. a create's row for a create that will never be sent.
    """

    work: Callable[[], Any]
    abandoned: Callable[[Any], Any] | None = None


Action = Send | Sleep | Emit | Call
Op = Generator[Action, Any, T]
EXPIRED_STATUSES = (403, 404, 410)
DOWNLOAD_ATTEMPTS = 3


@dataclass
class Context:
    """What operations need from their client: how to build requests, retry and tell time."""

    build: Callable[..., httpx.Request]
    policy: RetryPolicy
    poll_interval: float
    clock: Callable[[], float]
    gateway: Gateway = field(default_factory=lambda: get_gateway(DEFAULT_GATEWAY))

    def check_id(self, task_id: object) -> str:
        """The id if it has this gateway's shape, else ValidationError (nothing is sent)."""
        return check_task_id(task_id, self.gateway.task_id, self.gateway.task_id_shape)

    rng: Callable[[], float] = random.random


def send_op(
    ctx: Context,
    request: httpx.Request,
    *,
    create: bool = False,
    task_id: str | None = None,
    sink: VideoSink | None = None,
) -> Op[httpx.Response]:
    """Send with the retry rules; raise the mapped error when retrying is not allowed.

    A create answered with a 5xx may have made its task: that is an unknown outcome.
    """
    retries = 0
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
            rule = ctx.gateway.error_rule(response.status_code)
            allowed = rule.retry == "always" or (rule.retry == "reads" and not create)
            delay = ctx.policy.after_status(response, retries, create) if allowed else None
            if delay is None:
                if create and response.status_code >= 500:
                    raise _unknown_after_5xx(ctx, request, response) from None
                raise api_error(response, task_id, _classes(ctx))
            failure = response
        retries += 1
        notice = RetryNotice(
            describe_failure(failure), delay, retries + 1, ctx.policy.max_retries + 1, task_id
        )
        logger.warning(notice.message)
        yield Emit(notice)
        yield Sleep(delay)


def submit_op(ctx: Context, request: Request) -> Op[Task]:
    """Create a task. Never sent twice unless the service provably did not receive it.

    The request is checked against the gateway's limits first: a refusal sends nothing.
    """
    gateway = ctx.gateway
    gateway.check(request)
    http_request = ctx.build("POST", gateway.create_path, json=gateway.body(request))
    response = yield from send_op(ctx, http_request, create=True)
    try:
        task = gateway.parse_task(json_body(response), request)
        if not is_task_id(task.id, gateway.task_id):
            shape = gateway.task_id_shape
            raise ValueError(f"the task id {task.id[:80]!r} is not of the form {shape}")
    except (MalformedBody, ValueError) as exc:
        raise OutcomeUnknownError(
            f"the service accepted the {request.model} request (HTTP {response.status_code}) but "
            f"its answer was unreadable ({exc})",
            _found_id(ctx, response),
        ) from None
    logger.info("created task %s (%s)", task.id, task.model)
    return task


def get_op(ctx: Context, task_id: str) -> Op[Task]:
    """Fetch a task's current state, retrying transient failures. A bad id sends nothing."""
    ctx.check_id(task_id)
    request = ctx.build("GET", ctx.gateway.path_of(task_id))
    for attempt in range(ctx.policy.max_retries + 1):
        response = yield from send_op(ctx, request, task_id=task_id)
        try:
            task = ctx.gateway.parse_task(json_body(response), None)
            if task.id != task_id:
                raise ValueError(f"it is about another task, {task.id[:80]!r}")
            return task
        except (MalformedBody, ValueError) as exc:
            if attempt == ctx.policy.max_retries:
                raise ServerError(
                    response.status_code, None, f"unreadable answer: {exc}", None, task_id
                ) from None
            yield Sleep(ctx.policy.backoff(attempt + 1))
    raise AssertionError("unreachable")


def wait_op(ctx: Context, task: Task, timeout: float | None, *, poll_now: bool) -> Op[Task]:
    """Poll until the task ends; emit each change; raise on failure, cancellation or timeout.

    The waits between polls come from a :class:`~.schedule.PollPlan`: the first at about 0.8x
    the estimated time, later ones sized from the observed progress (never under a second); without
    an estimate, the first waits the gateway's advice (``first_poll_s``) when that is sooner. A
    poll that keeps failing transiently is reported and tried again later: it never ends the wait.
    """
    ctx.check_id(task.id)
    start = ctx.clock()
    deadline = None if timeout is None else start + timeout
    plan = PollPlan.start(task, start, interval=ctx.poll_interval, fresh=not poll_now, rng=ctx.rng)
    if poll_now or task.is_terminal:
        delay = 0.0
    elif not task.estimated_time and ctx.gateway.first_poll_s:
        delay = max(1.0, min(ctx.gateway.first_poll_s, plan.first_wait()))
    else:
        delay = plan.first_wait()
    while not task.is_terminal:
        if deadline is not None:
            remaining = deadline - ctx.clock()
            if remaining <= 0:
                raise WaitTimeoutError(task, timeout or 0.0)
            delay = min(delay, remaining)
        if delay > 0:
            yield Sleep(delay)
        try:
            newer = task.updated((yield from get_op(ctx, task.id)))
        except (ServerError, RateLimitError, OmniConnectionError) as exc:
            delay = plan.after_failure()
            notice = RetryNotice(f"status check failed ({exc})", delay, 1, 1, task.id)
            logger.warning(notice.message)
            yield Emit(notice)
            continue
        if (newer.status, newer.progress) != (task.status, task.progress):
            yield Emit(newer)
        task = newer
        if not task.is_terminal:
            delay = plan.next_wait(task, ctx.clock())
    if task.status != "completed":
        raise TaskFailedError(task)
    return task


def download_op(ctx: Context, task: Task, dest: str | os.PathLike[str] | None) -> Op[Path]:
    """Save the video with its JSON sidecar, once: a verified copy already there is reused.

    A body that is not the whole video (cut short, a proxy's page) is never moved into place; it
    is downloaded again a few times, then DownloadError names the task.
    """
    ctx.check_id(task.id)
    target = target_path(task, dest)
    problem = saved_problem(task.id, target) if target.exists() else None
    if target.exists() and problem is None:
        return target
    if problem:
        logger.warning("task %s: %s is not a verified copy (%s)", task.id, target, problem)
    if task.status != "completed" or not task.video_url:
        kept = f"; the file at {target} is not a verified copy ({problem})" if problem else ""
        raise DownloadError(
            task.id, f"the task is {task.status}, not completed with a video URL{kept}"
        )
    request = httpx.Request("GET", task.video_url)
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        sink = VideoSink(task, target, ctx.gateway.name)
        try:
            response = yield from send_op(ctx, request, task_id=task.id, sink=sink)
            if response.status_code in EXPIRED_STATUSES:
                raise URLExpiredError(
                    task.id,
                    f"the video URL answered HTTP {response.status_code}: it has probably "
                    f"expired; it was {url_age(task)}",
                )
            path = sink.commit(response)
        except IncompleteDownload as exc:
            problem = str(exc)
        else:
            logger.info("saved task %s to %s", task.id, path)
            return path
        finally:
            sink.discard()
        if attempt == DOWNLOAD_ATTEMPTS:
            break
        delay = ctx.policy.backoff(attempt)
        notice = RetryNotice(
            f"incomplete download ({problem})", delay, attempt + 1, DOWNLOAD_ATTEMPTS, task.id
        )
        logger.warning(notice.message)
        yield Emit(notice)
        yield Sleep(delay)
    raise DownloadError(task.id, f"{problem} (tried {DOWNLOAD_ATTEMPTS} times)")


def _found_id(ctx: Context, response: httpx.Response) -> str | None:
    """A task id the answer mentions, even if the answer is otherwise unreadable."""
    return find_task_id(response.content[:100_000], ctx.gateway.task_id)


def _classes(ctx: Context) -> Callable[[int], type[APIError]]:
    """The gateway's error table as a status -> exception class function."""
    return lambda status: ctx.gateway.error_rule(status).error


def _unknown_after_5xx(
    ctx: Context, request: httpx.Request, response: httpx.Response
) -> OutcomeUnknownError:
    error = api_error(response, None, _classes(ctx))
    what = f"{request.method} {request.url.copy_with(query=None)}"
    return OutcomeUnknownError(
        f"{what} answered HTTP {response.status_code} ({error.message.strip() or 'no message'}); "
        "the service may have created the task before failing",
        _found_id(ctx, response),
    )


def _connection_error(
    exc: httpx.HTTPError, request: httpx.Request, create: bool, task_id: str | None
) -> OmniConnectionError:
    what = f"{request.method} {request.url.copy_with(query=None)}"
    about = f" (task {task_id})" if task_id else ""
    if create and not isinstance(exc, NOT_SENT):
        return OutcomeUnknownError(f"{what} was sent but no answer came ({type(exc).__name__})")
    settled = "; nothing reached the service, so no task was created" if create else ""
    # An httpx error can quote what the server sent (a garbled status line, say): no key in it.
    cause = redact(str(exc), request)
    return OmniConnectionError(f"{what}{about} failed: {type(exc).__name__}: {cause}{settled}")
