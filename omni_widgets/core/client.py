"""The sync and async clients: thin drivers that run the operations in ``protocol`` over httpx."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from .._version import __version__
from . import workers
from .batch_run import DEFAULT_CONCURRENCY, RowOutcome, prepare, run_async, run_sync
from .download import FEED_LIMIT, SinkFeeder, VideoSink
from .endpoint import Endpoint
from .errors import (
    APIError,
    DownloadError,
    NotFoundError,
    OmniConnectionError,
    OmniError,
    OutcomeUnknownError,
    TaskFailedError,
    URLExpiredError,
)
from .gateway import Gateway, get_gateway
from .http import LIMITS, tls_context
from .ledger import Ledger, LedgerRecord
from .ledger_batch import TaskWrites
from .progress import default_reporter
from .protocol import (
    Call,
    Context,
    Emit,
    Op,
    Send,
    Sleep,
    Unsent,
    Update,
    download_op,
    get_op,
    submit_op,
    wait_op,
)
from .requests import Request
from .responses import protect_key
from .result import Result
from .resume import ResumeOutcome, no_id_advice, plan_resume, resume_op
from .retry import RetryPolicy, retry_after
from .scheduler import DOWNLOAD_SLOTS, Scheduler, SlotCancelled
from .settings import Settings, settings_for
from .task import Task

logger = logging.getLogger("omni_widgets")

T = TypeVar("T")
OnUpdate = Callable[[Update], None]
Dest = str | os.PathLike[str] | None
LedgerChoice = str | os.PathLike[str] | Ledger | bool | None
RESUME_CONCURRENCY = 8


class _BaseClient:
    """Settings, request building, the task history and the ledger shared by both clients."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        poll_interval: float | None = None,
        ledger: LedgerChoice = None,
        gateway: str | Gateway | None = None,
    ) -> None:
        self.gateway: Gateway = get_gateway(gateway)
        given, choice = (ledger, None) if isinstance(ledger, Ledger) else (None, ledger)
        self._settings: Settings = settings_for(self.gateway, api_key, base_url, choice)
        if given is not None:
            self._settings = dataclasses.replace(
                self._settings, ledger=given.path, ledger_source="argument"
            )
        path = self._settings.ledger
        self._ledger: Ledger | None = given or (Ledger(path) if path is not None else None)
        self._ledger_seen: dict[str, tuple[Any, ...]] = {}
        self._ledger_warned = False
        if self._settings.api_key is not None:
            protect_key(self._settings.api_key.reveal())
        self.timeout = timeout
        self.max_retries = max_retries
        self.poll_interval = self.gateway.poll_every_s if poll_interval is None else poll_interval
        self._policy = RetryPolicy(max_retries)
        self._clock: Callable[[], float] = time.monotonic
        self._history: dict[str, Task] = {}
        self._endpoint: Endpoint | None = None

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def settings(self) -> Settings:
        """The effective settings and where each came from (the key itself stays masked)."""
        return self._settings

    @property
    def tasks(self) -> list[Task]:
        """Every task this client created or looked at, newest first, as last seen."""
        return list(reversed(self._history.values()))

    @property
    def ledger(self) -> Ledger | None:
        """The task ledger this client writes to (None with ``ledger=False``)."""
        return self._ledger

    def history(
        self,
        status: str | list[str] | None = None,
        unfinished: bool = False,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[LedgerRecord]:
        """Recorded tasks of every session and process, newest first (empty without a ledger).

        ``status`` is one status or a list; ``unfinished`` keeps tasks that may still give a
        video not saved yet; ``since`` is a Unix time; ``limit`` caps the number of records.
        """
        if self._ledger is None:
            return []
        return self._ledger.records(status=status, unfinished=unfinished, since=since, limit=limit)

    def _build(self, method: str, path: str, **kwargs: Any) -> httpx.Request:
        endpoint = self._endpoint
        if endpoint is None:  # made at the first request: a client without a key sends nothing
            key = self._settings.require_key()
            headers = {
                "Authorization": f"Bearer {key.reveal()}",
                "Accept": "application/json",
                "User-Agent": f"omni-widgets/{__version__}",
            }
            endpoint = self._endpoint = Endpoint(self.base_url, headers, self.timeout)
        return endpoint.request(method, path, **kwargs)

    def _context(self) -> Context:
        return Context(
            self._build,
            self._policy,
            self.poll_interval,
            self._clock,
            gateway=self.gateway,
            rng=lambda: self._policy.rng(),
        )

    def _note(self, item: Any) -> None:
        if isinstance(item, Task):
            known = self._history.pop(item.id, None)
            task = known.updated(item) if known else item
            self._history[item.id] = task
            self._record_task(task)

    # --- the ledger: every write is logged on failure, never raised --------------------

    def _record(self, what: str, write: Callable[[Ledger], T]) -> T | None:
        if self._ledger is None:
            return None
        try:
            return write(self._ledger)
        except Exception as exc:
            level = logging.DEBUG if self._ledger_warned else logging.WARNING
            self._ledger_warned = True
            logger.log(
                level,
                "task ledger %s: could not record %s (%s: %s); going on without it",
                self._ledger.path,
                what,
                type(exc).__name__,
                exc,
            )
            return None

    def _recorded(
        self,
        what: str,
        write: Callable[[Ledger], T],
        abandoned: Callable[[T | None], Any] | None = None,
    ) -> Op[T | None]:
        """:meth:`_record` as a :class:`Call` action: the async client writes on a thread."""
        if self._ledger is None:
            return None
        call = Call(lambda: self._record(what, write), abandoned)
        return (yield call)  # type: ignore[no-any-return]

    def _record_task(self, task: Task) -> None:
        """Write a task's state when its status, URL or error changed since the last write."""
        if self._ledger is None:
            return
        seen = (task.status, task.video_url, task.error)
        if self._ledger_seen.get(task.id) == seen:
            return
        self._ledger_seen[task.id] = seen
        self._record(
            f"task {task.id}",
            lambda ledger: ledger.record_task(self.base_url, task, gateway=self.gateway.name),
        )

    def _record_status(self, task_id: str, status: str, error: str | None) -> None:
        self._ledger_seen.pop(task_id, None)
        self._record(
            f"task {task_id} as {status}",
            lambda ledger: ledger.record_status(
                self.base_url, task_id, status, error, gateway=self.gateway.name
            ),
        )

    def _start(self, task_or_id: Task | str) -> tuple[Task, bool]:
        """The best-known task for a Task or id, and whether to poll at once."""
        if isinstance(task_or_id, Task):
            known = self._history.get(task_or_id.id)
            return (known.updated(task_or_id) if known else task_or_id), False
        known = self._history.get(task_or_id)
        return (known or Task(id=task_or_id, status="unknown")), True

    def _submit(self, request: Request) -> Op[Task]:
        if not isinstance(request, Request):
            raise TypeError(
                f"submit() takes a TextToVideo, ImageToVideo, ReferenceToVideo or VideoEdit, "
                f"not {type(request).__name__}"
            )
        return self._recorded_submit(request)

    def _recorded_submit(self, request: Request, grid: tuple[str, int] | None = None) -> Op[Task]:
        """Create a task, recorded in the ledger before it is sent and when its id arrives
        (with its grid id and row index when a grid sends it)."""
        self._settings.require_key()  # nothing to record when nothing can be sent
        row = yield from self._recorded(
            "a new task",
            lambda ledger: ledger.record_submitting(
                self.base_url, request, gateway=self.gateway.name, grid=grid
            ),
            self._never_sent,
        )
        try:
            task = yield from submit_op(self._context(), request)
        except BaseException as exc:
            self._record_create_outcome(row, exc)
            raise
        if row is not None:
            self._ledger_seen[task.id] = (task.status, task.video_url, task.error)
            yield from self._recorded(
                f"task {task.id}", lambda ledger: ledger.record_created(row, task)
            )
        return task

    def _record_create_outcome(self, row: int | None, exc: BaseException) -> None:
        """Record how a create without a readable task ended (see :func:`_create_outcome`)."""
        if row is None:
            return
        status, note = _create_outcome(exc)
        task_id = getattr(exc, "task_id", None)
        self._record(
            f"the create's outcome ({status})",
            lambda ledger: ledger.record_outcome(
                row, status, note, task_id=task_id if isinstance(task_id, str) else None
            ),
        )

    def _never_sent(self, row: int | None) -> None:
        """Close the row of a create stopped before it was sent (it would read as "submitting",
        and a later resume would call its outcome unknown)."""
        self._record_create_outcome(row, Unsent())

    def _wait(self, task_or_id: Task | str, timeout: float | None) -> Op[Task]:
        task, poll_now = self._start(task_or_id)
        return self._recorded_wait(task, timeout, poll_now)

    def _recorded_wait(self, task: Task, timeout: float | None, poll_now: bool) -> Op[Task]:
        """Wait; a task the service no longer knows is recorded as "not found"."""
        try:
            return (yield from wait_op(self._context(), task, timeout, poll_now=poll_now))
        except NotFoundError as exc:
            self._record_status(task.id, "not found", str(exc))
            raise

    def _download(self, task: Task, dest: Dest) -> Op[Path]:
        task, _ = self._start(task)
        return self._recorded_download(task, dest)

    def _recorded_download(self, task: Task, dest: Dest) -> Op[Path]:
        """Download; the ledger gets the saved file, an expired URL, or why it failed."""
        try:
            path = yield from download_op(self._context(), task, dest)
        except URLExpiredError as exc:
            self._record_status(task.id, "expired", str(exc))
            raise
        except DownloadError as exc:
            self._record_status(task.id, task.status, str(exc))
            raise
        if self._ledger_seen.get(task.id) != ("saved", path):
            self._ledger_seen[task.id] = ("saved", path)
            yield from self._recorded(
                f"the video of task {task.id}",
                lambda ledger: ledger.record_saved(
                    self.base_url, task, path, gateway=self.gateway.name
                ),
            )
        return path

    def _generate(self, request: Request, dest: Dest, timeout: float | None) -> Op[Result]:
        task = yield from self._submit(request)
        self._note(task)
        task = yield from self._recorded_wait(task, timeout, False)
        path = yield from self._recorded_download(task, dest)
        return Result(task, path)

    def resumable(self) -> tuple[list[LedgerRecord], list[ResumeOutcome]]:
        """This base URL's unfinished recorded tasks that can still be watched, and outcomes for
        those that cannot (an expired URL, a create with no task id), recorded as such."""
        if self._ledger is None:
            return [], []
        records = self._record(
            "nothing (reading unfinished tasks failed)",
            lambda ledger: ledger.records(base_url=self.base_url, unfinished=True),
        )
        mine = [r for r in records or [] if r.gateway == self.gateway.name]
        plan = plan_resume(mine, time.time())
        for row_id in plan.stale_rows:
            self._record("a lost create as unknown", _mark_unknown(row_id, self.gateway.name))
        for outcome in plan.settled:
            if outcome.task_id is not None:
                self._record_status(outcome.task_id, outcome.state, outcome.message)
        return plan.watch, list(plan.settled)

    def _resume(self, record: LedgerRecord, dest: Dest, timeout: float | None) -> Op[ResumeOutcome]:
        assert record.task_id is not None
        return resume_op(
            record,
            self._recorded_wait(Task(id=record.task_id, status="unknown"), timeout, True),
            lambda task: self._recorded_download(task, dest),
        )

    def _emit(self, action: Emit, on_update: OnUpdate | None) -> None:
        self._note(action.update)
        if on_update is not None:
            on_update(action.update)

    def __repr__(self) -> str:
        key = "set" if self._settings.api_key else "missing"
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<{key}>, "
            f"gateway={self.gateway.name!r})"
        )


def _mark_unknown(row_id: int, gateway: str) -> Callable[[Ledger], None]:
    return lambda ledger: ledger.record_outcome(row_id, "unknown", no_id_advice(gateway))


NEVER_SENT = "stopped before the create was sent: no task was made"


def _tell_unsent(op: Op[Any]) -> None:
    """Let a stopped operation know its next request never left (a create's row says so)."""
    with contextlib.suppress(Unsent, StopIteration):
        op.throw(Unsent())


async def _call(action: Call) -> Any:
    """Run a :class:`Call` (a ledger write) on the ledger's thread. A cancelled caller stops
    waiting, but the write still happens, and then its ``abandoned`` follows it there."""
    pool = workers.ledger()
    job = pool.submit(action.work)
    try:
        return await workers.finished(job)
    except asyncio.CancelledError:
        abandoned = action.abandoned
        if abandoned is not None:

            def follow(done: concurrent.futures.Future[Any]) -> None:
                if done.cancelled() or done.exception() is not None:
                    return
                try:
                    pool.submit(abandoned, done.result())
                except RuntimeError:  # the interpreter is shutting down: write it here
                    abandoned(done.result())

            job.add_done_callback(follow)
        raise


def _create_outcome(exc: BaseException) -> tuple[str, str]:
    """How a failed create is recorded: "rejected" only when no task can exist."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, Unsent):
        return "rejected", NEVER_SENT
    if isinstance(exc, OutcomeUnknownError):
        return "unknown", text
    if isinstance(exc, APIError) and exc.status_code < 500:
        return "rejected", text
    if isinstance(exc, OmniConnectionError):
        return "rejected", text  # raised only when nothing reached the service
    if isinstance(exc, OmniError):
        return "unknown", text
    cause = "interrupted or cancelled" if isinstance(exc, GeneratorExit) else type(exc).__name__
    return "unknown", (
        f"stopped ({cause}) while the create was in flight: a task may exist and be billed; "
        "check your dashboard before resubmitting"
    )


class OmniClient(_BaseClient):
    """Blocking client on ``httpx.Client``; waits are plain loops, so Ctrl-C / Interrupt works."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        poll_interval: float | None = None,
        transport: httpx.BaseTransport | None = None,
        ledger: LedgerChoice = None,
        gateway: str | Gateway | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            poll_interval=poll_interval,
            ledger=ledger,
            gateway=gateway,
        )
        verify = True if transport is not None else tls_context().result()
        self._http = httpx.Client(timeout=timeout, transport=transport, verify=verify)
        self._sleep: Callable[[float], None] = time.sleep

    def submit(self, request: Request, *, on_update: OnUpdate | None = None) -> Task:
        """Create a task (retried only where no task can have been started)."""
        return self._run(self._submit(request), on_update)

    def get(self, task_id: str) -> Task:
        """The task's current state."""
        return self._run(get_op(self._context(), task_id), None)

    def wait(
        self,
        task_or_id: Task | str,
        *,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> Task:
        """Poll until the task completes; raise TaskFailedError or WaitTimeoutError otherwise."""
        return self._run(self._wait(task_or_id, timeout), on_update)

    def download(self, task: Task, dest: Dest = None) -> Path:
        """Save the task's video (default ``./omni_outputs/<id>.mp4``) with a JSON sidecar."""
        return self._run(self._download(task, dest), None)

    def generate(
        self,
        request: Request,
        *,
        dest: Dest = None,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> Result:
        """Submit, wait and download; shows progress in a notebook when no on_update is given."""
        if isinstance(request, Request):
            self.gateway.check(request)  # refused before a progress line says "starting"
        return self._run(self._generate(request, dest, timeout), on_update or default_reporter())

    def generate_many(
        self,
        requests: Any,
        concurrency: int = DEFAULT_CONCURRENCY,
        budget: float | None = None,
        *,
        dest: Dest = None,
        timeout: float | None = None,
        grid_id: str | None = None,
    ) -> list[RowOutcome]:
        """Generate a grid (requests, dicts, a DataFrame or ``omni_widgets.product(...)``).

        Every row is validated and the cost checked against the budget before anything is sent
        (``ValidationError`` naming each bad row, ``BudgetExceededError``). Returns each row's
        Result or error, in order. Running the same grid again (same rows, or the same
        ``grid_id``) watches the rows it already created instead of creating them twice.
        """
        run = prepare(
            self,
            requests,
            concurrency=concurrency,
            budget=budget,
            dest=dest,
            timeout=timeout,
            grid_id=grid_id,
        )
        return run_sync(self, run)

    def resume_pending(
        self, *, dest: Dest = None, timeout: float | None = None, on_update: OnUpdate | None = None
    ) -> list[ResumeOutcome]:
        """Watch and save every unfinished task of this base URL recorded in the ledger.

        Tasks whose video URL has expired (24 h after completion) are not asked for. Returns
        what became of each task, and records it: "saved" with the path, or a final state such
        as "expired", "failed", "not found", or "unknown" (no task id: check your dashboard).
        """
        watch, outcomes = self.resumable()
        for record in watch:
            outcomes.append(self._run(self._resume(record, dest, timeout), on_update))
        return outcomes

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, op: Op[T], on_update: OnUpdate | None) -> T:
        """Carry out an operation's actions until it returns."""
        try:
            action = next(op)
            while True:
                outcome: Any = None
                try:
                    if isinstance(action, Send):
                        outcome = self._send(action)
                    elif isinstance(action, Sleep):
                        self._sleep(action.seconds)
                    elif isinstance(action, Call):
                        outcome = action.work()
                    else:
                        self._emit(action, on_update)
                except httpx.HTTPError as exc:
                    action = op.throw(exc)
                else:
                    action = op.send(outcome)
        except StopIteration as stop:
            self._note(stop.value)
            return stop.value  # type: ignore[no-any-return]

    def _send(self, action: Send) -> httpx.Response:
        if action.sink is None:
            return self._http.send(action.request)
        # Only video URLs follow redirects: a followed 307 would re-send a create's body.
        response = self._http.send(action.request, stream=True, follow_redirects=True)
        try:
            if response.status_code == 200:
                action.sink.start()
                for chunk in response.iter_bytes():
                    action.sink.write(chunk)
            else:
                response.read()
        finally:
            response.close()
        return response


class AsyncOmniClient(_BaseClient):
    """Non-blocking client on ``httpx.AsyncClient``, for the panel, magics and async code."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        poll_interval: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        ledger: LedgerChoice = None,
        gateway: str | Gateway | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            poll_interval=poll_interval,
            ledger=ledger,
            gateway=gateway,
        )
        # Without a transport, the TLS context is made in a thread; the client waits for it
        # at its first request, not here on the event loop.
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        if transport is None:
            tls_context()
        else:
            self._http = self._make_http(True)
        #: Every wait and request of this client goes through one timer queue and request gate.
        self.scheduler = Scheduler()
        #: Video downloads take slots of their own: a long one never holds up status queries, and
        #: its length does not count as the service's latency.
        self.downloads = Scheduler(DOWNLOAD_SLOTS)
        self._sleep: Callable[[float], Any] = self.scheduler.sleep
        #: Task states reach the ledger in batches written on the ledger's thread.
        self._writes = TaskWrites(self._commit_tasks)
        workers.prestart()

    async def submit(self, request: Request, *, on_update: OnUpdate | None = None) -> Task:
        """Create a task (retried only where no task can have been started)."""
        return await self._run(self._submit(request), on_update)

    async def get(self, task_id: str) -> Task:
        """The task's current state."""
        return await self._run(get_op(self._context(), task_id), None)

    async def wait(
        self,
        task_or_id: Task | str,
        *,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> Task:
        """Poll until the task completes; raise TaskFailedError or WaitTimeoutError otherwise."""
        return await self._run(self._wait(task_or_id, timeout), on_update)

    async def download(self, task: Task, dest: Dest = None) -> Path:
        """Save the task's video (default ``./omni_outputs/<id>.mp4``) with a JSON sidecar."""
        return await self._run(self._download(task, dest), None)

    async def generate(
        self,
        request: Request,
        *,
        dest: Dest = None,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> Result:
        """Submit, wait and download."""
        return await self._run(self._generate(request, dest, timeout), on_update)

    async def generate_many(
        self,
        requests: Any,
        concurrency: int = DEFAULT_CONCURRENCY,
        budget: float | None = None,
        *,
        dest: Dest = None,
        timeout: float | None = None,
        grid_id: str | None = None,
    ) -> list[RowOutcome]:
        """Generate a grid, several rows at once; see :meth:`OmniClient.generate_many`."""
        run = prepare(
            self,
            requests,
            concurrency=concurrency,
            budget=budget,
            dest=dest,
            timeout=timeout,
            grid_id=grid_id,
        )
        return await run_async(self, run)

    async def resume_pending(
        self, *, dest: Dest = None, timeout: float | None = None, on_update: OnUpdate | None = None
    ) -> list[ResumeOutcome]:
        """Watch and save every unfinished task of this base URL (several at once); see
        :meth:`OmniClient.resume_pending`."""
        watch, outcomes = self.resumable()
        gate = asyncio.Semaphore(RESUME_CONCURRENCY)

        async def one(record: LedgerRecord) -> ResumeOutcome:
            async with gate:
                return await self._run(self._resume(record, dest, timeout), on_update)

        return outcomes + list(await asyncio.gather(*(one(r) for r in watch)))

    async def watch(
        self, task_or_id: Task | str, *, timeout: float | None = None
    ) -> AsyncIterator[Task]:
        """Yield the task at every change of status or progress, ending with its final state."""
        queue: asyncio.Queue[Task | None] = asyncio.Queue()

        def collect(update: Update) -> None:
            if isinstance(update, Task):
                queue.put_nowait(update)

        runner = asyncio.ensure_future(self._run(self._wait(task_or_id, timeout), collect))
        runner.add_done_callback(lambda _: queue.put_nowait(None))
        last: Task | None = None
        try:
            while (update := await queue.get()) is not None:
                last = update
                yield update
            try:
                final = runner.result()
            except TaskFailedError as exc:
                final = exc.task
            if final != last:
                yield final
        finally:
            runner.cancel()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def _make_http(self, verify: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self.timeout, transport=self._transport, verify=verify, limits=LIMITS
        )

    async def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            verify = await asyncio.wrap_future(tls_context())
            if self._http is None:
                self._http = self._make_http(verify)
        return self._http

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, op: Op[T], on_update: OnUpdate | None) -> T:
        """Carry out an operation's actions until it returns."""
        await self.scheduler.turn()  # many operations started at once start over loop turns
        try:
            action = next(op)
            while True:
                outcome: Any = None
                try:
                    if isinstance(action, Send):
                        outcome = await self._send(action)
                    elif isinstance(action, Sleep):
                        await self._sleep(action.seconds)
                    elif isinstance(action, Call):
                        outcome = await _call(action)
                    else:
                        self._emit(action, on_update)
                except httpx.HTTPError as exc:
                    action = op.throw(exc)
                except asyncio.CancelledError as exc:
                    if isinstance(action, Sleep) or isinstance(exc, SlotCancelled):
                        _tell_unsent(op)
                    raise
                else:
                    action = op.send(outcome)
        except StopIteration as stop:
            self._note(stop.value)
            await self._writes.settled()
            return stop.value  # type: ignore[no-any-return]
        except Exception:
            await self._writes.settled()  # the ledger knows the failure before the caller does
            raise

    def _record_task(self, task: Task) -> None:
        """Queue the task's changed state for the batched ledger writes (off the event loop)."""
        seen = (task.status, task.video_url, task.error)
        if self._ledger is None or self._ledger_seen.get(task.id) == seen:
            return
        self._ledger_seen[task.id] = seen
        self._writes.put(task)

    def _commit_tasks(self, tasks: list[Task]) -> None:
        """Write a batch of task states (on a worker thread); a failure is logged, not raised."""
        self._record(
            f"{len(tasks)} task states",
            lambda ledger: ledger.record_tasks(self.base_url, tasks, gateway=self.gateway.name),
        )

    async def _send(self, action: Send) -> httpx.Response:
        http = self._http or await self._client()
        gate = self.scheduler if action.sink is None else self.downloads
        async with gate.slot():
            response = await self._send_now(http, action)
        if response.status_code == 429:
            gate.rate_limited(retry_after(response.headers.get("Retry-After")))
        return response

    async def _send_now(self, http: httpx.AsyncClient, action: Send) -> httpx.Response:
        sink = action.sink
        if sink is None:
            return await http.send(action.request)
        response = await http.send(action.request, stream=True, follow_redirects=True)
        try:
            if response.status_code == 200:
                await self._stream(response, sink)
            else:
                await response.aread()
        finally:
            await response.aclose()
        if response.status_code == 200:
            # The fsync and renames take tens of ms for a large video: not on the event loop.
            await workers.run_on(workers.files(), lambda: sink.settle(response))
        return response

    @staticmethod
    async def _stream(response: httpx.Response, sink: VideoSink) -> None:
        """Receive the body on the loop while a worker thread hashes and writes it."""
        sink.start()
        feeder = SinkFeeder(sink)
        files = workers.files()
        try:
            async for chunk in response.aiter_bytes():
                feeder.put(chunk)
                if feeder.backlog > FEED_LIMIT:
                    await workers.run_on(files, lambda: feeder.wait_below(FEED_LIMIT // 2))
        finally:
            if feeder.writing:
                await workers.run_on(files, feeder.finish)
