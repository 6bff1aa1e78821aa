"""What ``%omni ... -o NAME`` stores: a live handle on the job, never a stale snapshot.

A ``Task`` is the service's answer at one moment; a variable holding it would still say
"pending" after the card completed. The handle reads its job on every access instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import OmniError
from ..core.result import Result
from ..core.task import Task
from .jobs import Job


class TaskHandle:
    """The latest state of one ``%omni`` task: ``status``, ``progress``, ``path``, ``result``.

    Other attributes (``video_url``, ``credits_reserved``, ``error``, ...) come from the newest
    :class:`Task` seen. ``wait()`` blocks until the video is saved and returns the Result.
    """

    def __init__(self, job: Job) -> None:
        self._job = job

    @property
    def job(self) -> Job:
        return self._job

    @property
    def id(self) -> str:
        assert self._job.task_id is not None, "a handle is made once the task exists"
        return self._job.task_id

    @property
    def task(self) -> Task:
        """The newest :class:`Task` snapshot (the service's answer at its last poll)."""
        assert self._job.task is not None
        return self._job.task

    @property
    def status(self) -> str:
        """As the card says it: pending, processing, downloading, completed, failed or error."""
        return self._job.phase

    @property
    def progress(self) -> int:
        return 100 if self._job.phase == "completed" else self.task.progress

    @property
    def done(self) -> bool:
        return self._job.done

    @property
    def path(self) -> Path | None:
        """The saved MP4, once downloaded."""
        return self._job.path

    @property
    def result(self) -> Result | None:
        """The Result (shows the video) once the video is saved, else None."""
        if self._job.phase == "completed" and self._job.path is not None:
            return Result(self.task, self._job.path)
        return None

    def wait(self) -> Result:
        """Block until the video is saved (interruptible; the task goes on) and return it."""
        if not self._job.done or self._job.phase != "completed":
            self._job.wait_blocking()
        result = self.result
        if result is None:
            raise self._job.error or OmniError(f"task {self.id} ended as {self._job.phase}")
        return result

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.task, name)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        result = self.result
        if result is not None:
            bundle = result._repr_mimebundle_()
            bundle["text/plain"] = repr(self)
            return bundle
        return {"text/plain": repr(self)}

    def __repr__(self) -> str:
        parts = [f"TaskHandle({self.id!r}, status={self.status!r}, progress={self.progress}"]
        if self.path is not None:
            parts.append(f", path={str(self.path)!r}")
        return "".join(parts) + ") (live: reads the task's latest state)"
