"""Rendered result files: each completed task's MP4, rendered once in a worker thread and cached on
disk.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ._render import render_mp4
from ._tasks import Task

_log = logging.getLogger("omni_widgets.sandbox")


class MediaCache:
    """Renders on first need (a query or callback that sees completion, or the first download).

    Rendering runs in a one-thread pool so it neither blocks the event loop nor starves a 2-core
    machine; every caller for the same task awaits the same render. Use only from the server's loop.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omni-sandbox-render")
        self._renders: dict[str, asyncio.Future[Path]] = {}

    def start(self, task: Task) -> asyncio.Future[Path]:
        """Begin rendering `task`'s video unless already begun; return the shared future."""
        future = self._renders.get(task.id)
        if future is None or (future.done() and future.exception() is not None):
            path = self._directory / f"{task.id}.mp4"
            loop = asyncio.get_running_loop()
            future = asyncio.ensure_future(
                loop.run_in_executor(self._executor, _render_once, task, path)
            )
            future.add_done_callback(_log_failure)
            self._renders[task.id] = future
        return future

    async def path(self, task: Task) -> Path:
        """The finished file for `task`, rendering it first if needed."""
        return await asyncio.shield(self.start(task))

    def close(self) -> None:
        """Stop the render thread: drop renders not yet begun, wait for the current one."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def _render_once(task: Task, path: Path) -> Path:
    if not path.exists():
        render_mp4(task.video, path)
    return path


def _log_failure(future: asyncio.Future[Path]) -> None:
    if not future.cancelled() and future.exception() is not None:
        _log.error("rendering failed", exc_info=future.exception())
