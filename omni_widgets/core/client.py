"""The sync and async clients: thin drivers that run the operations in ``protocol`` over httpx."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from .._version import __version__
from .errors import TaskFailedError
from .progress import default_reporter
from .protocol import (
    Context,
    Emit,
    Op,
    Send,
    Sleep,
    Update,
    download_op,
    get_op,
    submit_op,
    wait_op,
)
from .requests import Request
from .responses import protect_key
from .result import Result
from .retry import RetryPolicy
from .settings import Settings, resolve
from .task import Task

T = TypeVar("T")
OnUpdate = Callable[[Update], None]
Dest = str | os.PathLike[str] | None


class _BaseClient:
    """Settings, request building and the task history shared by both clients."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        poll_interval: float = 3.0,
    ) -> None:
        self._settings: Settings = resolve(api_key, base_url)
        if self._settings.api_key is not None:
            protect_key(self._settings.api_key.reveal())
        self.timeout = timeout
        self.max_retries = max_retries
        self.poll_interval = poll_interval
        self._policy = RetryPolicy(max_retries)
        self._clock: Callable[[], float] = time.monotonic
        self._history: dict[str, Task] = {}

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

    def _build(self, method: str, path: str, **kwargs: Any) -> httpx.Request:
        key = self._settings.require_key()
        headers = {
            "Authorization": f"Bearer {key.reveal()}",
            "Accept": "application/json",
            "User-Agent": f"omni-widgets/{__version__}",
        }
        return httpx.Request(method, self.base_url + path, headers=headers, **kwargs)

    def _context(self) -> Context:
        return Context(self._build, self._policy, self.poll_interval, self._clock)

    def _note(self, item: Any) -> None:
        if isinstance(item, Task):
            known = self._history.pop(item.id, None)
            self._history[item.id] = known.updated(item) if known else item

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
        return submit_op(self._context(), request)

    def _wait(self, task_or_id: Task | str, timeout: float | None) -> Op[Task]:
        task, poll_now = self._start(task_or_id)
        return wait_op(self._context(), task, timeout, poll_now=poll_now)

    def _download(self, task: Task, dest: Dest) -> Op[Path]:
        task, _ = self._start(task)
        return download_op(self._context(), task, dest)

    def _generate(self, request: Request, dest: Dest, timeout: float | None) -> Op[Result]:
        task = yield from self._submit(request)
        self._note(task)
        task = yield from wait_op(self._context(), task, timeout, poll_now=False)
        path = yield from download_op(self._context(), task, dest)
        return Result(task, path)

    def _emit(self, action: Emit, on_update: OnUpdate | None) -> None:
        self._note(action.update)
        if on_update is not None:
            on_update(action.update)

    def __repr__(self) -> str:
        key = "set" if self._settings.api_key else "missing"
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<{key}>)"


class OmniClient(_BaseClient):
    """Blocking client on ``httpx.Client``; waits are plain loops, so Ctrl-C / Interrupt works."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        poll_interval: float = 3.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key, base_url, timeout=timeout, max_retries=max_retries, poll_interval=poll_interval
        )
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True)
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
        return self._run(self._generate(request, dest, timeout), on_update or default_reporter())

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
        response = self._http.send(action.request, stream=True)
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
        poll_interval: float = 3.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key, base_url, timeout=timeout, max_retries=max_retries, poll_interval=poll_interval
        )
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=True)
        self._sleep: Callable[[float], Any] = asyncio.sleep

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
        await self._http.aclose()

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
        try:
            action = next(op)
            while True:
                outcome: Any = None
                try:
                    if isinstance(action, Send):
                        outcome = await self._send(action)
                    elif isinstance(action, Sleep):
                        await self._sleep(action.seconds)
                    else:
                        self._emit(action, on_update)
                except httpx.HTTPError as exc:
                    action = op.throw(exc)
                else:
                    action = op.send(outcome)
        except StopIteration as stop:
            self._note(stop.value)
            return stop.value  # type: ignore[no-any-return]

    async def _send(self, action: Send) -> httpx.Response:
        if action.sink is None:
            return await self._http.send(action.request)
        response = await self._http.send(action.request, stream=True)
        try:
            if response.status_code == 200:
                action.sink.start()
                async for chunk in response.aiter_bytes():
                    action.sink.write(chunk)
            else:
                await response.aread()
        finally:
            await response.aclose()
        return response
