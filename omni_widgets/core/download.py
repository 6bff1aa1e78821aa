"""Save a finished video safely: stream to a temporary file, check it, then move it in place."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx

from .errors import DownloadError
from .task import Task

DEFAULT_OUTPUT_DIR = Path("omni_outputs")


def target_path(task: Task, dest: str | os.PathLike[str] | None) -> Path:
    """Where a task's video goes: a given .mp4 path, or ``<folder>/<task id>.mp4``."""
    path = Path(dest).expanduser() if dest is not None else DEFAULT_OUTPUT_DIR
    return path if path.suffix.lower() == ".mp4" else path / f"{task.id}.mp4"


def sidecar_path(video: Path) -> Path:
    """The JSON record kept beside a video."""
    return video.with_suffix(".json")


class VideoSink:
    """Receives a streamed body into a temporary file beside the target; see :meth:`commit`."""

    def __init__(self, task: Task, target: Path) -> None:
        self.task = task
        self.target = target
        self._file: IO[bytes] | None = None
        self._head = b""
        self.size = 0

    def start(self) -> None:
        """Begin (or begin again, after a retry) with an empty temporary file."""
        self.discard()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in commit/discard)
            dir=self.target.parent, prefix=f".{self.target.stem}.", suffix=".part", delete=False
        )
        self._head = b""
        self.size = 0

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        if len(self._head) < 12:
            self._head += chunk[: 12 - len(self._head)]
        self._file.write(chunk)
        self.size += len(chunk)

    def commit(self, response: httpx.Response) -> Path:
        """Check the body (200, non-empty, MP4 ftyp box, Content-Length), then move it in place."""
        try:
            problem = self._problem(response)
            if problem:
                raise DownloadError(self.task.id, problem)
            assert self._file is not None
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._file.name, self.target)
            self._file = None
        finally:
            self.discard()
        write_sidecar(self.task, self.target, self.size)
        return self.target

    def discard(self) -> None:
        """Remove the temporary file, if any."""
        if self._file is not None:
            self._file.close()
            Path(self._file.name).unlink(missing_ok=True)
            self._file = None

    def _problem(self, response: httpx.Response) -> str | None:
        if response.status_code != 200:
            return f"the video URL answered HTTP {response.status_code}"
        if self._file is None or self.size == 0:
            return "the video URL answered with an empty body"
        if self._head[4:8] != b"ftyp":
            return f"the body is not an MP4 (it starts with {self._head[:12]!r})"
        expected = response.headers.get("Content-Length")
        if expected and expected.isdigit() and int(expected) != self.size:
            return f"got {self.size} bytes but Content-Length said {expected}; the download was cut"
        return None


def write_sidecar(task: Task, video: Path, size: int) -> Path:
    """Record where the video came from, beside it (request without image data, times, credits)."""
    record: dict[str, Any] = {
        "task_id": task.id,
        "model": task.model,
        "request": task.request.describe() if task.request else None,
        "created": _iso(task.created),
        "completed": _iso(task.completed_at),
        "downloaded": _iso(time.time()),
        "credits_reserved": task.credits_reserved,
        "source_url": task.video_url,
        "source_url_expires": _iso(task.url_expires_at),
        "file": video.name,
        "bytes": size,
    }
    path = sidecar_path(video)
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def url_age(task: Task, now: float | None = None) -> str:
    """How long ago the task's video URL was issued, in words."""
    start = task.completed_at or task.created
    if start is None:
        return "of unknown age"
    hours = ((now or time.time()) - start) / 3600
    return f"issued about {hours:.1f} h ago (URLs expire after 24 h)"


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")
