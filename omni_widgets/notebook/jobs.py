"""A job is one request's life in a notebook: create, watch, download; observable by cards.

Jobs run as asyncio tasks on the kernel's own event loop, so the kernel stays free. Every job of the
session is kept (with a strong reference) so that no created task is ever forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from ..core.errors import OmniError, TaskFailedError
from ..core.requests import MODELS, Request
from ..core.retry import RetryNotice
from ..core.task import Task
from .connection import Connection
from .ticker import ticker

logger = logging.getLogger("omni_widgets")

Phase = Literal[
    "submitting", "pending", "processing", "downloading", "completed", "failed", "error"
]
FINAL_PHASES = ("completed", "failed", "error")
# Progress and notices reach listeners at most this often; phase changes go at once.
COALESCE_S = 0.25

Listener = Callable[["Job"], None]
_SESSION: list[Job] = []


class Job:
    """Submits one request (or follows an existing task) and keeps its state for the UI."""

    def __init__(
        self,
        connection: Connection,
        request: Request | None = None,
        *,
        task: Task | None = None,
        dest: str | Path | None = None,
        origin: str = "",
        prompt: str = "",
    ) -> None:
        if request is None and task is None:
            raise ValueError("a job needs a request or an existing task")
        self.connection = connection
        self.request = request or (task.request if task else None)
        self.task = task
        self.dest = dest
        #: Where the job came from when it is not this session's own, e.g. "resumed from an
        #: earlier session"; ``prompt`` is the recorded prompt of a task without its request.
        self.origin = origin
        self._prompt = prompt
        self.phase: Phase = "pending" if task else "submitting"
        self.notice = ""
        self.path: Path | None = None
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self.finished: float | None = None
        self._listeners: list[Listener] = []
        self._future: asyncio.Task[None] | None = None
        self._told = float("-inf")
        self._flush: asyncio.TimerHandle | None = None
        _SESSION.append(self)

    # --- what a card shows ----------------------------------------------------------------

    @property
    def task_id(self) -> str | None:
        return self.task.id if self.task else None

    @property
    def model(self) -> str | None:
        return self.request.model if self.request else (self.task.model if self.task else None)

    @property
    def mode(self) -> str:
        """The request kind's name, e.g. 'TextToVideo'."""
        cls = MODELS.get(self.model or "")
        return cls.__name__ if cls else (self.model or "task")

    @property
    def prompt(self) -> str:
        return self.request.prompt if self.request else self._prompt

    @property
    def done(self) -> bool:
        return self.phase in FINAL_PHASES

    @property
    def running(self) -> bool:
        return self._future is not None and not self._future.done()

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def eta(self) -> float | None:
        """Seconds left by the service's estimate, while the task runs."""
        if self.done or not self.task or not self.task.estimated_time:
            return None
        return max(0.0, self.task.estimated_time - self.elapsed)

    @property
    def error_message(self) -> str:
        return str(self.error) if self.error else ""

    # --- observing ------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(job)`` on changes (and about every second while it runs).

        A new phase is told at once; progress and notices at most every ``COALESCE_S`` seconds
        (the latest state then), so a card re-renders a few times a second at most.
        """
        self._listeners.append(listener)
        listener(self)

    def tick(self) -> None:
        """The shared ticker's call: the elapsed time moved on."""
        self._changed(urgent=False)

    def _changed(self, urgent: bool = True) -> None:
        if not self._listeners:
            return
        if not urgent:
            if self._flush is not None:
                return  # a coalesced update is on its way and will show the latest state
            wait = self._told + COALESCE_S - time.monotonic()
            if wait > 0 and loop_running():
                self._flush = asyncio.get_running_loop().call_later(wait, self._tell)
                return
        self._tell()

    def _tell(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._told = time.monotonic()
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:
                logger.exception("a job listener failed")

    def apply(self, update: Task | RetryNotice) -> None:
        """Take in a task update or a retry notice (from either client)."""
        before = self.phase
        if isinstance(update, RetryNotice):
            self.notice = update.message
        else:
            self.task = self.task.updated(update) if self.task else update
            self.notice = ""
            if update.status in ("pending", "processing"):
                self.phase = update.status  # type: ignore[assignment]
        self._changed(urgent=self.phase != before)

    # --- running --------------------------------------------------------------------------

    def start(self) -> Job:
        """Run on the current event loop (the kernel's, in a notebook) and return at once."""
        loop = asyncio.get_running_loop()
        self._future = loop.create_task(self._run(), name=f"omni-job-{id(self)}")
        ticker().add(self)
        return self

    async def _run(self) -> None:
        client = self.connection.client
        try:
            if self.task is None:
                assert self.request is not None
                self.apply(await client.submit(self.request, on_update=self.apply))
            task = await client.wait(self.task or "", on_update=self.apply)
            self._set_phase("downloading")
            self.path = await client.download(task, self.dest)
            self._finish("completed", None)
        except TaskFailedError as exc:
            self._finish("failed", exc)
        except asyncio.CancelledError:
            if asyncio.current_task() is not self._future:
                raise  # handed over to wait_blocking(), which now follows the task
            self._finish(
                "error",
                OmniError(
                    f"stopped watching {self._about()}; it goes on: resume it to watch it again"
                ),
            )
            raise
        except Exception as exc:
            self._finish("error", exc)

    def wait_blocking(self) -> None:
        """Follow the job with a plain synchronous loop (interruptible), in the calling cell.

        On interrupt the waiting stops, never the task: the job goes on in the background.
        A job already watched in the background is taken over (its watcher would sit blocked
        behind this loop, then download a second time), and a finished one is watched afresh.
        """
        self._stop_background()
        if self.done:
            self._reopen()
        client = self.connection.sync_client
        try:
            if self.task is None:
                assert self.request is not None
                self.apply(client.submit(self.request, on_update=self.apply))
            task = client.wait(self.task or "", on_update=self.apply)
            self._set_phase("downloading")
            self.path = client.download(task, self.dest)
            self._finish("completed", None)
        except TaskFailedError as exc:
            self._finish("failed", exc)
        except KeyboardInterrupt:
            if self.task is not None and loop_running():
                self.notice = "stopped waiting; the task goes on and this card keeps watching"
                self.start()
            elif self.task is not None:  # no event loop (plain IPython): nothing can watch
                self._finish(
                    "error", OmniError(f"stopped waiting; {self._about()} goes on: resume it")
                )
            else:
                self._finish("error", OmniError("interrupted before the task was created"))
            raise
        except Exception as exc:
            self._finish("error", exc)

    def resume(self) -> Job:
        """Watch and download again after an error, without creating a new task."""
        if self.task is None or self.running:
            return self
        self._reopen()
        return self.start()

    def _reopen(self) -> None:
        """Forget a previous ending before watching the task again."""
        self.phase, self.error, self.finished, self.notice = "pending", None, None, ""
        self._changed()

    def _stop_background(self) -> None:
        """Stop the background watcher quietly; it ends at its next step on the loop."""
        if self._future is not None and not self._future.done():
            self._future.cancel()
        self._future = None

    def resubmit(self) -> Job:
        """A new job for the same request (an explicit act: it creates and bills a new task)."""
        if self.request is None:
            raise OmniError(f"{self._about()} has no request to resubmit")
        return Job(self.connection, self.request, dest=self.dest).start()

    def _set_phase(self, phase: Phase) -> None:
        self.phase = phase
        self._changed()

    def _finish(self, phase: Phase, error: BaseException | None) -> None:
        self.phase = phase
        self.error = error
        self.finished = time.monotonic()
        if error is not None and not isinstance(error, TaskFailedError):
            logger.warning("%s: %s", self._about(), error)
        self._changed()

    def _about(self) -> str:
        return f"task {self.task.id}" if self.task else "the request"

    def __repr__(self) -> str:
        return f"<Job {self.task_id or '(not created)'} {self.mode} {self.phase}>"


def loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def session_jobs() -> list[Job]:
    """Every job of this kernel session, newest first."""
    return list(reversed(_SESSION))


def find_job(task_id: str) -> Job | None:
    """The newest job following this task id, if any."""
    return next((job for job in session_jobs() if job.task_id == task_id), None)
