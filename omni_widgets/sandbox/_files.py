"""Result files: each completed task's MP4, rendered once in a worker thread and cached on disk.

Renders start eagerly when a query or callback first sees a task completed, so the first download
usually finds the file ready; a download that has to wait jumps the queue. One render runs per
core (PyAV releases the GIL while encoding), so a hundred tasks completing together are all
served within a client's timeout, and the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ._render import RenderCancelled, render_mp4
from ._tasks import Task

_log = logging.getLogger("omni_widgets.sandbox")


class MediaCache:
    """Renders tasks' videos in priority order and remembers the files; use on the server's loop."""

    def __init__(self, directory: Path, workers: int | None = None) -> None:
        self._directory = directory
        self._workers = workers or max(1, os.cpu_count() or 1)
        self._executor = ThreadPoolExecutor(
            max_workers=self._workers, thread_name_prefix="omni-sandbox-render"
        )
        self._running: set[asyncio.Task[None]] = set()
        self._cancel = threading.Event()
        self._futures: dict[str, asyncio.Future[Path]] = {}
        self._queue: deque[Task] = deque()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    def start(self, task: Task, *, urgent: bool = False) -> asyncio.Future[Path]:
        """Queue `task`'s render unless done or under way (to the front if `urgent`)."""
        future = self._futures.get(task.id)
        if future is not None and future.done() and future.exception() is not None:
            future = None  # a failed render may be retried
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._futures[task.id] = future
            self._queue.append(task)
        if urgent and task in self._queue:
            self._queue.remove(task)
            self._queue.appendleft(task)
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work())
        self._wake.set()
        return future

    async def path(self, task: Task) -> Path:
        """The finished file for `task`, rendering it first (ahead of the queue) if needed."""
        return await asyncio.shield(self.start(task, urgent=True))

    async def _work(self) -> None:
        slots = asyncio.Semaphore(self._workers)
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            await slots.acquire()  # taken from the queue only when a worker is free: urgent first
            if not self._queue:
                slots.release()
                continue
            task = self._queue.popleft()
            future = self._futures.get(task.id)
            if future is None:  # expired while queued
                slots.release()
                continue
            job = asyncio.get_running_loop().create_task(self._render(task, future))
            self._running.add(job)
            job.add_done_callback(self._running.discard)
            job.add_done_callback(lambda _: slots.release())

    async def _render(self, task: Task, future: asyncio.Future[Path]) -> None:
        path = self._directory / f"{task.id}.mp4"
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, _render, task, path, self._cancel)
        except RenderCancelled:
            future.cancel()
        except Exception as exc:
            _log.error("rendering %s failed", task.id, exc_info=exc)
            if not future.done():
                future.set_exception(exc)
        else:
            if not future.done():
                future.set_result(path)

    def forget(self, task_id: str) -> None:
        """Drop an expired task's render and its file (a render under way finishes, unused)."""
        future = self._futures.pop(task_id, None)
        if future is not None and future.done():
            (self._directory / f"{task_id}.mp4").unlink(missing_ok=True)

    async def aclose(self) -> None:
        """Abandon queued renders and those under way, and stop the render threads."""
        self._cancel.set()
        self._queue.clear()
        if self._worker is not None:
            self._worker.cancel()
        for job in list(self._running):
            job.cancel()
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)
        for future in self._futures.values():
            future.cancel()


def _render(task: Task, path: Path, cancel: threading.Event) -> None:
    if not path.exists():
        render_mp4(task.video, path, cancel)
