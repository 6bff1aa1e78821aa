"""Tasks and their life: pending, then processing with rising progress, then completed or failed.

State is computed from the time elapsed since creation whenever someone asks, so no thread drives
it. Times are planned in "vendor seconds" (what the real service would take) and played back
`speed` times faster; `speed=inf` makes every task finish by its first query. The reported
`estimated_time` is in real seconds (the vendor estimate divided by `speed`), because clients plan
their polling on it: a client that trusts it behaves against the sandbox as against the service.

Records expire `record_ttl` seconds after creation (then a query answers the vendor's 404
`task_not_found`), so memory and disk stay bounded; with a state folder they are also kept on disk
(`_records.py`) and outlive the process.
"""

from __future__ import annotations

import math
import random
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._failures import FAILURE_MESSAGES
from ._pricing import usage
from ._records import FILE_NAME, Record, RecordFile, wall_to_monotonic
from ._render import VideoSpec
from ._validate import EDIT, CreateRequest

Status = Literal["pending", "processing", "completed", "failed"]
OBJECT = "video.generation.task"
ID_PREFIX = "task-unified-"
_ALNUM = string.ascii_lowercase + string.digits
DEFAULT_RECORD_TTL = 7 * 24 * 3600.0
"""Seconds a task record is kept after creation (the result URL's `ttl` is separate)."""
_DISK_PURGE_EVERY = 60.0
# Task fields a record stores as they are (the rest: request, video, started_at, base_url).
_PLAIN_FIELDS = (
    "model",
    "created",
    "owner",
    "estimated_time",
    "queue_for",
    "complete_after",
    "finish_after",
    "fail_code",
    "file_token",  # so result URLs given out before a restart still work
)


def estimated_seconds(model: str, duration: int | str | None) -> int:
    """Vendor-time estimate: 40 s of overhead plus 8 s per second of video (10 s clip → 120 s)."""
    seconds = 10 if model == EDIT or not isinstance(duration, int) else duration
    return 40 + 8 * seconds


@dataclass(eq=False)
class Task:
    """One generation task, with its timeline planned at creation (in real, monotonic seconds)."""

    id: str
    model: str
    created: int  # unix seconds, as reported
    started_at: float  # monotonic clock at creation
    started_wall: float  # wall clock at creation (what records keep)
    owner: str
    request: CreateRequest
    video: VideoSpec
    base_url: str
    estimated_time: int  # real seconds, as reported
    queue_for: float  # real seconds spent pending
    complete_after: float  # real seconds a full run takes
    finish_after: float  # real seconds until the terminal state (earlier when scripted to fail)
    fail_code: str | None = None
    callback_scheduled: bool = field(default=False, repr=False)
    file_token: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)

    @property
    def result_url(self) -> str:
        """Where the finished video is served: the random token makes the URL unguessable."""
        return f"{self.base_url}/files/{self.file_token}/{self.id}.mp4"

    @property
    def finishes_at(self) -> float:
        """Monotonic time at which the task reaches its terminal state."""
        return self.started_at + self.finish_after

    def state(self, now: float) -> tuple[Status, int]:
        """Status and progress at monotonic time `now`."""
        elapsed = now - self.started_at
        if elapsed >= self.finish_after:
            if self.fail_code:
                return "failed", self._progress(self.finish_after)
            return "completed", 100
        if elapsed < self.queue_for:
            return "pending", 0
        return "processing", self._progress(elapsed)

    def _progress(self, elapsed: float) -> int:
        span = self.complete_after - self.queue_for
        share = (elapsed - self.queue_for) / span if span > 0 else 0.0
        return max(1, min(99, 1 + int(98 * share)))

    def create_body(self) -> dict[str, Any]:
        """The create response: pending at 0 %, with the time estimate and the credits reserved."""
        return {
            "created": self.created,
            "id": self.id,
            "model": self.model,
            "object": OBJECT,
            "progress": 0,
            "status": "pending",
            "task_info": {"can_cancel": False, "estimated_time": self.estimated_time},
            "type": "video",
            "usage": usage(self.model, self.request.duration),
        }

    def query_body(self, now: float) -> dict[str, Any]:
        """The task-query response (also the callback body) at monotonic time `now`."""
        status, progress = self.state(now)
        if status == "failed":
            # As in the vendor's failed-task example: no created, task_info or type.
            code = self.fail_code or "unknown_error"
            return {
                "id": self.id,
                "object": OBJECT,
                "status": "failed",
                "model": self.model,
                "progress": progress,
                "error": {"code": code, "message": FAILURE_MESSAGES[code], "type": "task_error"},
            }
        body: dict[str, Any] = {
            "created": self.created,
            "id": self.id,
            "model": self.model,
            "object": OBJECT,
            "progress": progress,
            "status": status,
            "task_info": {"can_cancel": False},
            "type": "video",
        }
        if status == "completed":
            body["results"] = [self.result_url]
        return body


class TaskStore:
    """All tasks of a sandbox, created with planned timelines; safe to use from several threads."""

    def __init__(
        self,
        seed: int | None = None,
        record_ttl: float = DEFAULT_RECORD_TTL,
        *,
        new_id: Callable[[random.Random, float], str] | None = None,
        records_file: str = FILE_NAME,
    ) -> None:
        self._rng = random.Random(seed)
        self._make_id = new_id or unified_id
        self._records_file = records_file
        self._tasks: dict[str, Task] = {}  # in creation order, so the oldest expire first
        self._lock = threading.Lock()
        self._file: RecordFile | None = None
        self._disk_purged = 0.0
        self.record_ttl = record_ttl
        self.clock: Callable[[], float] = time.time
        """Wall clock for expiry (a test may move it forward)."""
        self.on_expire: Callable[[str], None] | None = None
        """Called with each expired task's id (the server forgets its rendered file)."""

    def attach(self, state_dir: Path, base_url: str) -> None:
        """Keep records in `state_dir` from now on, and load the unexpired ones found there."""
        with self._lock:
            if self._file is None:
                self._file = RecordFile(state_dir, self._records_file)
            self._purge_disk()
            for record in self._file.load(self.clock() - self.record_ttl):
                if record.id not in self._tasks:
                    self._tasks[record.id] = _task_from(record, base_url)

    def detach(self) -> None:
        """Stop writing records to disk (those in memory stay)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def create(
        self,
        request: CreateRequest,
        video: VideoSpec,
        *,
        owner: str,
        base_url: str,
        speed: float,
        fail_code: str | None,
        model: str | None = None,
    ) -> Task:
        """Plan and store a new task; completion varies ±25 % around the estimate. `model` is the
        name the task reports, when the gateway's differs from the request's internal one."""
        estimate = estimated_seconds(request.model, request.duration)
        with self._lock:
            vendor_total = estimate * self._rng.uniform(0.75, 1.25)
            queue_share = self._rng.uniform(0.05, 0.15)
            fail_share = self._rng.uniform(0.3, 0.8)
            task_id = self._new_id()
            real_total = 0.0 if math.isinf(speed) else vendor_total / speed
            reported = 0 if math.isinf(speed) else math.ceil(estimate / speed)
            task = Task(
                id=task_id,
                model=model or request.model,
                created=int(time.time()),
                started_at=time.monotonic(),
                started_wall=time.time(),
                owner=owner,
                request=request,
                video=video,
                base_url=base_url,
                estimated_time=reported,
                queue_for=real_total * queue_share,
                complete_after=real_total,
                finish_after=real_total * (fail_share if fail_code else 1.0),
                fail_code=fail_code,
            )
            self._expire()
            self._tasks[task_id] = task
            if self._file is not None:
                self._file.save(_record_of(task))
                if time.monotonic() - self._disk_purged > _DISK_PURGE_EVERY:
                    self._purge_disk()
        return task

    def get(self, task_id: str) -> Task | None:
        """The task with this id, unless unknown or its record expired."""
        with self._lock:
            self._expire()
            return self._tasks.get(task_id)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._tasks)

    def _expire(self) -> None:
        """Drop expired tasks from memory, oldest first (call with the lock held)."""
        cutoff = self.clock() - self.record_ttl
        while self._tasks:
            oldest = next(iter(self._tasks.values()))
            if oldest.started_wall >= cutoff:
                break
            del self._tasks[oldest.id]
            if self.on_expire is not None:
                self.on_expire(oldest.id)

    def _purge_disk(self) -> None:
        if self._file is not None:
            self._file.delete_before(self.clock() - self.record_ttl)
            self._disk_purged = time.monotonic()

    def _new_id(self) -> str:
        while True:
            task_id = self._make_id(self._rng, time.time())
            if task_id not in self._tasks:
                return task_id


def unified_id(rng: random.Random, now: float) -> str:
    """An EvoLink task id: `task-unified-<unix seconds>-<8 random characters>`."""
    suffix = "".join(rng.choice(_ALNUM) for _ in range(8))
    return f"{ID_PREFIX}{int(now)}-{suffix}"


def _record_of(task: Task) -> Record:
    fields = {name: getattr(task, name) for name in _PLAIN_FIELDS}
    return Record(task.id, task.started_wall, fields, task.request, task.video)


def _task_from(record: Record, base_url: str) -> Task:
    """A stored task, its timeline re-anchored to this process's monotonic clock."""
    return Task(
        id=record.id,
        started_at=wall_to_monotonic(record.created_wall),
        started_wall=record.created_wall,
        request=record.request,
        video=record.video,
        base_url=base_url,
        **record.fields,
    )
