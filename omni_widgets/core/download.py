"""Save a finished video safely: stream to a temporary file, verify it, then move it in place.

A video counts as saved only when the whole file is there (:func:`verify_mp4`) and its sidecar
records its size and sha256; a file already at the target is checked the same way before it is
reused. Disk failures (a full disk, a read-only or forbidden folder) become a
:class:`DownloadError` naming the path and leave no temporary file behind.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

import httpx

from .errors import DownloadError, Problem, ValidationError
from .ids import file_stem
from .mp4 import verify_mp4
from .task import Task
from .workers import writers as _writers

DEFAULT_OUTPUT_DIR = Path("omni_outputs")
HASH_CHUNK = 1 << 20


class IncompleteDownload(Exception):
    """The body that arrived is not the whole video; downloading again may work."""


def target_path(task: Task, dest: str | os.PathLike[str] | None) -> Path:
    """Where a task's video goes: a given .mp4 path, or ``<folder>/<task id>.mp4``.

    The file name made from the id never leaves the folder, whatever the id holds.
    """
    try:
        path = Path(dest).expanduser() if dest is not None else DEFAULT_OUTPUT_DIR
    except (RuntimeError, TypeError) as exc:
        raise ValidationError(
            "destination", [Problem("dest", dest, f"not a usable path ({exc})")]
        ) from None
    return path if path.suffix.lower() == ".mp4" else path / f"{file_stem(task.id)}.mp4"


def sidecar_path(video: Path) -> Path:
    """The JSON record kept beside a video."""
    return video.with_suffix(".json")


def saved_problem(task_id: str, video: Path) -> str | None:
    """Why the file at ``video`` is not a verified copy of this task's video, or None if it is.

    Verified means: its sidecar names the task, and the size, the MP4 boxes and the sha256 match
    (a sidecar written before sha256 was recorded is checked on size and boxes alone).
    """
    try:
        record = json.loads(sidecar_path(video).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"its sidecar cannot be read ({_cause(exc)})"
    if not isinstance(record, dict) or record.get("task_id") != task_id:
        return "its sidecar is about another task"
    try:
        size = video.stat().st_size
    except OSError as exc:
        return f"it cannot be read ({_cause(exc)})"
    if record.get("bytes") != size:
        return f"it has {size} bytes but its sidecar says {record.get('bytes')}"
    problem = verify_mp4(video)
    if problem or "sha256" not in record:  # sidecars of earlier versions had no sha256
        return problem
    try:
        digest = file_sha256(video)
    except OSError as exc:
        return f"it cannot be read ({_cause(exc)})"
    if record["sha256"] != digest:
        return "its sha256 differs from the one in its sidecar"
    return None


def file_sha256(path: Path) -> str:
    """The sha256 of a file's contents, in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class VideoSink:
    """Receives a streamed body into a temporary file beside the target; see :meth:`commit`.

    It never raises while receiving: a disk failure is kept and reported by :meth:`commit`, so the
    client streaming into it needs no error handling of its own. The async client calls
    :meth:`settle` on a worker thread first, so the ``fsync`` and renames never block its loop.
    """

    def __init__(self, task: Task, target: Path, gateway: str | None = None) -> None:
        self.task = task
        self.target = target
        self.gateway = gateway
        self._file: IO[bytes] | None = None
        self._part: Path | None = None
        self._hash = hashlib.sha256()
        self.size = 0
        self.failure: OSError | None = None
        self._settled: tuple[Path | None, BaseException | None] | None = None
        self._lock = threading.Lock()  # settle on a thread vs discard on the loop

    def start(self) -> None:
        """Begin (or begin again, after a retry) with no data; the temporary file is made by the
        first :meth:`write` (on the feeder's thread, in the async client: off the event loop)."""
        self.discard()
        self._hash = hashlib.sha256()
        self.size = 0
        self.failure = None
        self._settled = None

    def write(self, chunk: bytes) -> None:
        with self._lock:  # a feeder thread may write while the loop discards
            self.size += len(chunk)
            self._hash.update(chunk)
            if self._file is None and self.failure is None:
                self._open()
            if self._file is None:
                return
            try:
                self._file.write(chunk)
            except OSError as exc:
                self.failure = exc
                self._discard()

    def _open(self) -> None:
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._part, self._file = _create_temp(self.target)
        except OSError as exc:
            self.failure = exc

    def settle(self, response: httpx.Response) -> None:
        """Do :meth:`commit`'s blocking work now (it may run on another thread); the following
        :meth:`commit` then answers its outcome."""
        with self._lock:
            try:
                self._settled = (self._commit(response), None)
            except (IncompleteDownload, DownloadError) as exc:
                self._settled = (None, exc)

    def commit(self, response: httpx.Response) -> Path:
        """Verify the body, then move it and its sidecar into place.

        Raises IncompleteDownload when the body is not the whole video (worth another try) and
        DownloadError when the disk refuses it.
        """
        if self._settled is None:
            with self._lock:
                return self._commit(response)
        path, error = self._settled
        self._settled = None
        if error is not None:
            raise error
        assert path is not None
        return path

    def _commit(self, response: httpx.Response) -> Path:
        sidecar_part: Path | None = None
        try:
            if self.failure is not None:
                raise self.failure
            problem = self._problem(response)
            if problem:
                raise IncompleteDownload(problem)
            assert self._file is not None and self._part is not None
            self._file.flush()
            problem = verify_mp4(self._part)
            if problem:
                raise IncompleteDownload(problem)
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            sidecar_part = _write_temp(
                sidecar_path(self.target),
                sidecar_json(self.task, self.target, self.size, self.sha256, self.gateway),
            )
            os.replace(self._part, self.target)
            self._part = None
            os.replace(sidecar_part, sidecar_path(self.target))
            sidecar_part = None
        except OSError as exc:
            raise disk_error(self.task.id, self.target, exc) from None
        finally:
            self._discard()
            if sidecar_part is not None:
                sidecar_part.unlink(missing_ok=True)
        return self.target

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def discard(self) -> None:
        """Remove the temporary file, if any."""
        with self._lock:
            self._discard()

    def _discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._part is not None:
            self._part.unlink(missing_ok=True)
            self._part = None

    def _problem(self, response: httpx.Response) -> str | None:
        if response.status_code != 200:
            return f"the video URL answered HTTP {response.status_code}"
        if self.size == 0:
            return "the video URL answered with an empty body"
        expected = response.headers.get("Content-Length")
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if expected and expected.isdigit() and not encoded and int(expected) != self.size:
            return f"got {self.size} bytes but Content-Length said {expected}; the download was cut"
        return None


class SinkFeeder:
    """Feeds a :class:`VideoSink` from a worker thread, so hashing and writing a large body
    overlap with receiving it instead of running on the event loop between reads.

    The writing runs on a small pool shared by every download, as a job queued only while
    chunks wait, so a download starts no thread of its own (starting one blocks the caller until
    the thread runs: milliseconds on a busy machine, on the event loop). :meth:`put` never
    blocks; the caller waits for :meth:`backlog` to drain (on a thread) when it grows past
    :data:`FEED_LIMIT`, so memory stays bounded whatever the disk's speed.
    """

    def __init__(self, sink: VideoSink) -> None:
        self._sink = sink
        self._chunks: deque[bytes] = deque()
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._backlog = 0
        self._writing = False  # a drain job is queued or running

    @property
    def backlog(self) -> int:
        """Bytes received but not yet written."""
        return self._backlog

    @property
    def writing(self) -> bool:
        """True while received chunks are still to be written."""
        return self._writing or self._backlog > 0

    def put(self, chunk: bytes) -> None:
        """Queue a chunk; writing starts once :data:`FEED_BATCH` bytes wait, so a stream of
        small chunks costs the caller a pool job per megabyte, not one per chunk."""
        with self._lock:
            self._backlog += len(chunk)
            self._chunks.append(chunk)
            if self._writing or self._backlog < FEED_BATCH:
                return
            self._writing = True
        _writers().submit(self._drain)

    def wait_below(self, limit: int) -> None:
        """Block until the backlog is under ``limit`` bytes (call it off the event loop)."""
        self._flush()
        with self._drained:
            self._drained.wait_for(lambda: self._backlog < limit)

    def finish(self) -> None:
        """Block until every chunk put is written (call it off the event loop)."""
        self._flush()
        with self._drained:
            self._drained.wait_for(lambda: not self._writing)

    def _flush(self) -> None:
        """Start writing what waits, however little."""
        with self._lock:
            start = not self._writing and bool(self._chunks)
            self._writing = self._writing or start
        if start:
            _writers().submit(self._drain)

    def _drain(self) -> None:
        """Write what waits, joined into blocks of about :data:`FEED_BATCH`: one hash update and
        one write per block lets this thread run beside the loop, where one per 64 KB read made
        them trade the GIL thousands of times."""
        taken = 0
        try:
            while True:
                with self._drained:
                    self._backlog -= taken
                    if taken:
                        self._drained.notify_all()
                    if not self._chunks:
                        return
                    chunks, taken = [], 0
                    while self._chunks and taken < FEED_BATCH:
                        chunks.append(self._chunks.popleft())
                        taken += len(chunks[-1])
                self._sink.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        finally:
            with self._drained:
                self._writing = False
                self._drained.notify_all()


FEED_LIMIT = 16 << 20
#: Bytes that wait before a write job starts (the rest is written by ``finish``).
FEED_BATCH = 1 << 20


def sidecar_json(
    task: Task, video: Path, size: int, sha256: str, gateway: str | None = None
) -> str:
    """The sidecar's text: where the video came from (gateway, request without image data),
    times, credits, and the size and sha256 that later prove the file whole."""
    record: dict[str, Any] = {
        "task_id": task.id,
        "gateway": gateway,
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
        "sha256": sha256,
    }
    return json.dumps(record, indent=2) + "\n"


def disk_error(task_id: str, target: Path, exc: OSError) -> DownloadError:
    """A DownloadError naming the path the disk refused and why."""
    where = exc.filename if exc.filename and ".part" not in str(exc.filename) else target
    return DownloadError(task_id, f"cannot write {where}: {_cause(exc)}")


def url_age(task: Task, now: float | None = None) -> str:
    """How long ago the task's video URL was issued, in words."""
    start = task.completed_at or task.created
    if start is None:
        return "of unknown age"
    hours = ((now or time.time()) - start) / 3600
    return f"issued about {hours:.1f} h ago (URLs expire after 24 h)"


def _create_temp(target: Path) -> tuple[Path, IO[bytes]]:
    """A new hidden file beside ``target``, with the permissions the user's umask gives."""
    while True:
        part = target.with_name(f".{target.name}.{os.urandom(4).hex()}.part")
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return part, os.fdopen(fd, "wb")


def _write_temp(target: Path, text: str) -> Path:
    """Write ``text`` to a synced temporary file beside ``target``; the caller moves it in place."""
    part, file = _create_temp(target)
    try:
        with file:
            file.write(text.encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return part


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        return f"{exc.strerror or exc} ({name})"
    return str(exc)


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")
