"""The task ledger: one SQLite file recording every task of every kernel and process.

Tasks cost money and their video URLs die 24 hours after completion, so each one is written down
before its create is sent and kept up to date until its video is saved (or can no longer be).
Several processes may write at once: every write is one short ``BEGIN IMMEDIATE`` transaction in
WAL mode, retried while another writer holds the lock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import OmniError
from .requests import Request
from .task import URL_LIFETIME_S, Task

if TYPE_CHECKING:
    import sqlite3  # imported when the ledger is first opened: `import omni_widgets` stays light

logger = logging.getLogger("omni_widgets")

T = TypeVar("T")
EVOLINK = "evolink"
BUSY_TIMEOUT_S = 5.0

#: Statuses of a task that may still give a video (or whose fate is not known yet).
UNFINISHED = ("submitting", "unknown", "pending", "processing", "completed")
#: How far along each status is; a write never moves a task back (another process may lag).
_RANK = {"submitting": 0, "unknown": 1, "pending": 2, "processing": 3, "completed": 4}
_FINAL_RANK = 5

_COLUMNS = (
    "row_id, gateway, base_url, task_id, model, request, status, progress, video_url, "
    "completed_at, error, path, size, sha256, host, pid, kernel, created_at, updated_at, "
    "grid_id, grid_row, url_expires_at"
)


class LedgerError(OmniError):
    """The ledger file cannot be used (for example one written by a newer omni-widgets)."""


def _v0_to_v1(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE tasks (
            row_id INTEGER PRIMARY KEY AUTOINCREMENT,
            gateway TEXT NOT NULL,
            base_url TEXT NOT NULL,
            task_id TEXT,
            model TEXT,
            request TEXT,
            status TEXT NOT NULL,
            progress INTEGER NOT NULL DEFAULT 0,
            video_url TEXT,
            completed_at REAL,
            error TEXT,
            path TEXT,
            size INTEGER,
            sha256 TEXT,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            kernel TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            UNIQUE (base_url, task_id)
        )"""
    )
    db.execute("CREATE INDEX tasks_by_created ON tasks (created_at)")
    db.execute("CREATE INDEX tasks_by_status ON tasks (status)")


def _v1_to_v2(db: sqlite3.Connection) -> None:
    """Indexes for the gallery's filters, so a page stays fast over many thousand records."""
    db.execute("CREATE INDEX tasks_by_model ON tasks (model, created_at)")
    db.execute("CREATE INDEX tasks_by_gateway ON tasks (gateway, created_at)")
    db.execute("CREATE INDEX tasks_by_status_created ON tasks (status, created_at)")


def _v2_to_v3(db: sqlite3.Connection) -> None:
    """Grid rows: which grid (``core/batch.py``) and which row of it a task was made for."""
    db.execute("ALTER TABLE tasks ADD COLUMN grid_id TEXT")
    db.execute("ALTER TABLE tasks ADD COLUMN grid_row INTEGER")
    db.execute("CREATE INDEX tasks_by_grid ON tasks (grid_id, grid_row)")


def _v3_to_v4(db: sqlite3.Connection) -> None:
    """When the service says the video URL stops answering (ToAPIs' ``expires_at``)."""
    db.execute("ALTER TABLE tasks ADD COLUMN url_expires_at REAL")


#: ``MIGRATIONS[n]`` upgrades a ledger from schema version n to n + 1, inside one transaction.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v0_to_v1,
    _v1_to_v2,
    _v2_to_v3,
    _v3_to_v4,
]


def schema_version() -> int:
    """The schema version this code writes (the number of migrations)."""
    return len(MIGRATIONS)


@dataclass(frozen=True)
class LedgerRecord:
    """One task as the ledger knows it: what was asked, where it stands, where its video is.

    ``status`` is the service's status (pending, processing, completed, failed, cancelled) or
    the ledger's own: "submitting" (create being sent), "unknown" (a create whose answer was
    lost), "rejected" (nothing was made: the service refused the create, or it was stopped
    before it was sent), "saved", "expired" (the video URL died before it was saved) or
    "not found" (the service no longer knows it).
    """

    row_id: int
    task_id: str | None
    status: str
    gateway: str
    base_url: str
    model: str | None
    request: dict[str, Any] | None
    progress: int
    video_url: str | None
    completed_at: float | None
    error: str | None
    path: Path | None
    size: int | None
    sha256: str | None
    host: str
    pid: int
    kernel: str | None
    created_at: float
    updated_at: float
    #: The grid (``generate_many``) and the row of it this task was made for, if any.
    grid_id: str | None = None
    grid_row: int | None = None
    #: The service's own word on when the video URL expires, when it gives one (ToAPIs).
    service_url_expiry: float | None = None

    @property
    def unfinished(self) -> bool:
        """True while the task may still give a video that is not saved yet."""
        return self.status in UNFINISHED

    @property
    def prompt(self) -> str:
        request = self.request or {}
        prompt = request.get("prompt")
        return prompt if isinstance(prompt, str) else ""

    @property
    def url_expires_at(self) -> float | None:
        """When the video URL stops answering: the service's ``expires_at`` where it gives one,
        else 24 h after completion; None before completion."""
        if self.service_url_expiry is not None:
            return self.service_url_expiry
        return None if self.completed_at is None else self.completed_at + URL_LIFETIME_S

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path else ""
        return (
            f"LedgerRecord(task_id={self.task_id!r}, status={self.status!r}, "
            f"model={self.model!r}{where})"
        )


def describe_request(request: Request) -> dict[str, Any]:
    """The request as recorded: no key, and local images by path and sha256, never their data."""
    described = request.describe()
    payload = request.to_payload()
    images = payload.get("image_urls")
    if isinstance(images, list):
        sources = getattr(request, "image_sources", ())
        described["image_urls"] = [
            _describe_image(url, sources[i] if i < len(sources) else None)
            for i, url in enumerate(images)
        ]
    return described


def _describe_image(url: str, source: str | None) -> Any:
    if not url.startswith("data:"):
        return url
    head, _, data = url.partition(",")
    raw = base64.b64decode(data)
    fmt = head[len("data:image/") :].split(";")[0] if head.startswith("data:image/") else None
    return {
        "path": source,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "format": fmt,
        "bytes": len(raw),
    }


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def merge_status(old: str, new: str) -> str:
    """The status to keep: never backwards; "saved" wins; final states replace each other."""
    if old == "saved" or new == old:
        return old
    if new == "saved":
        return new
    return new if _RANK.get(new, _FINAL_RANK) >= _RANK.get(old, _FINAL_RANK) else old


class Ledger:
    """A ledger file. Opened on first use; safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path).expanduser().absolute()
        self.timeout = timeout
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = 0

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    # --- writing ------------------------------------------------------------------------

    def record_submitting(
        self,
        base_url: str,
        request: Request,
        *,
        gateway: str = EVOLINK,
        grid: tuple[str, int] | None = None,
    ) -> int:
        """A row for a create about to be sent; returns its row id for the later updates.

        ``grid`` is (grid id, row index) for a create made by ``generate_many``.
        """
        now = time.time()
        grid_id, grid_row = grid if grid is not None else (None, None)
        values = (
            gateway,
            base_url,
            request.model,
            json.dumps(describe_request(request)),
            "submitting",
            *_process(),
            now,
            now,
            grid_id,
            grid_row,
        )

        def write(db: sqlite3.Connection) -> int:
            cursor = db.execute(
                "INSERT INTO tasks (gateway, base_url, model, request, status, host, pid, kernel,"
                " created_at, updated_at, grid_id, grid_row)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

        return self._write(write)

    def record_created(self, row_id: int, task: Task) -> None:
        """The create's answer arrived: the pending row gets its task id and first status.

        If another process already recorded this id (it looked the task up first), the two
        rows become one: the pending row's request is kept on the existing row.
        """

        def write(db: sqlite3.Connection) -> None:
            row = db.execute(
                "SELECT base_url, request FROM tasks WHERE row_id = ?", (row_id,)
            ).fetchone()
            if row is None:
                return
            other = db.execute(
                "SELECT row_id FROM tasks WHERE base_url = ? AND task_id = ?", (row[0], task.id)
            ).fetchone()
            if other is not None:
                db.execute("DELETE FROM tasks WHERE row_id = ?", (row_id,))
                db.execute("UPDATE tasks SET request = ? WHERE row_id = ?", (row[1], other[0]))
                row_id_now = int(other[0])
            else:
                db.execute("UPDATE tasks SET task_id = ? WHERE row_id = ?", (task.id, row_id))
                row_id_now = row_id
            _update_task(db, row_id_now, task, None)

        self._write(write)

    def record_outcome(
        self, row_id: int, status: str, error: str | None, *, task_id: str | None = None
    ) -> None:
        """A create that ended without a readable task: "unknown" (may exist) or "rejected"."""

        def write(db: sqlite3.Connection) -> None:
            if task_id is not None:
                db.execute(
                    "UPDATE OR IGNORE tasks SET task_id = ? WHERE row_id = ?", (task_id, row_id)
                )
            _set_status(db, row_id, status, error)

        self._write(write)

    def record_task(
        self, base_url: str, task: Task, *, error: str | None = None, gateway: str = EVOLINK
    ) -> None:
        """A task's latest state; adds a row for a task created elsewhere."""

        def write(db: sqlite3.Connection) -> None:
            row_id = _row_for(db, gateway, base_url, task.id, task.model)
            _update_task(db, row_id, task, error)

        self._write(write)

    def record_tasks(self, base_url: str, tasks: Sequence[Task], *, gateway: str = EVOLINK) -> None:
        """Several tasks' latest states in one transaction (the async client's batches)."""

        def write(db: sqlite3.Connection) -> None:
            for task in tasks:
                _update_task(db, _row_for(db, gateway, base_url, task.id, task.model), task, None)

        self._write(write)

    def record_status(
        self,
        base_url: str,
        task_id: str,
        status: str,
        error: str | None,
        *,
        gateway: str = EVOLINK,
    ) -> None:
        """A status only the client can tell: "expired", "not found", or a failed download."""

        def write(db: sqlite3.Connection) -> None:
            _set_status(db, _row_for(db, gateway, base_url, task_id, None), status, error)

        self._write(write)

    def record_saved(
        self, base_url: str, task: Task, path: Path, *, gateway: str = EVOLINK
    ) -> None:
        """The video is saved: its path, size and sha256 (computed here, outside the lock)."""
        size = path.stat().st_size
        digest = file_sha256(path)

        def write(db: sqlite3.Connection) -> None:
            row_id = _row_for(db, gateway, base_url, task.id, task.model)
            _update_task(db, row_id, task, None)
            db.execute(
                "UPDATE tasks SET status = 'saved', error = NULL, path = ?, size = ?, sha256 = ?,"
                " updated_at = ? WHERE row_id = ?",
                (str(path.absolute()), size, digest, time.time(), row_id),
            )

        self._write(write)

    # --- reading ------------------------------------------------------------------------

    def records(
        self,
        *,
        base_url: str | None = None,
        status: str | Sequence[str] | None = None,
        unfinished: bool = False,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[LedgerRecord]:
        """Recorded tasks, newest first, filtered; empty when the file does not exist yet."""
        if not self.path.exists():
            return []
        where: list[str] = []
        args: list[Any] = []
        if base_url is not None:
            where.append("base_url = ?")
            args.append(base_url)
        statuses = [status] if isinstance(status, str) else list(status or [])
        if unfinished:
            statuses = [s for s in statuses if s in UNFINISHED] if statuses else list(UNFINISHED)
            if not statuses:
                return []
        if statuses:
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            args.extend(statuses)
        if since is not None:
            where.append("created_at >= ?")
            args.append(since)
        sql = f"SELECT {_COLUMNS} FROM tasks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, row_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._connection() as db:
            return [_record(row) for row in db.execute(sql, args).fetchall()]

    def grid_records(self, grid_id: str, base_url: str | None = None) -> list[LedgerRecord]:
        """Every record made for one grid, oldest first (a row may have several: a rejected
        create and its re-send)."""
        if not self.path.exists():
            return []
        sql = f"SELECT {_COLUMNS} FROM tasks WHERE grid_id = ?"
        args: list[Any] = [grid_id]
        if base_url is not None:
            sql += " AND base_url = ?"
            args.append(base_url)
        sql += " ORDER BY grid_row, row_id"
        with self._connection() as db:
            return [_record(row) for row in db.execute(sql, args).fetchall()]

    def find(self, base_url: str, task_id: str) -> LedgerRecord | None:
        """The record of one task, if any."""
        if not self.path.exists():
            return None
        with self._connection() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE base_url = ? AND task_id = ?",
                (base_url, task_id),
            ).fetchone()
        return None if row is None else _record(row)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # --- the file -----------------------------------------------------------------------

    def _write(self, change: Callable[[sqlite3.Connection], T]) -> T:
        """Run one short write transaction, retrying while another writer holds the lock."""
        with self._connection() as db:
            return _retrying(lambda: _transaction(db, change), self.timeout)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        import sqlite3

        with self._lock:
            if self._db is None or self._pid != os.getpid():  # a forked child opens its own
                try:
                    self._db = self._open()
                except (sqlite3.Error, OSError) as exc:
                    raise LedgerError(
                        f"cannot use the task ledger {self.path}: {type(exc).__name__}: {exc}"
                    ) from None
                self._pid = os.getpid()
            yield self._db

    def _open(self) -> sqlite3.Connection:
        import sqlite3

        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            _retrying(lambda: db.execute("PRAGMA journal_mode = WAL"), self.timeout)
            db.execute("PRAGMA synchronous = NORMAL")
            _retrying(lambda: _transaction(db, _migrate), self.timeout)
        except BaseException:
            db.close()
            raise
        return db


def _migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT version FROM schema_version").fetchone()
    version = 0 if row is None else int(row[0])
    if version > schema_version():
        raise LedgerError(
            f"the task ledger has schema version {version}, newer than this omni-widgets "
            f"understands ({schema_version()}); upgrade omni-widgets, or use another file "
            "(ledger= or OMNI_LEDGER)"
        )
    for step in range(version, schema_version()):
        MIGRATIONS[step](db)
    if row is None:
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (schema_version(),))
    elif version != schema_version():
        db.execute("UPDATE schema_version SET version = ?", (schema_version(),))


def _transaction(db: sqlite3.Connection, change: Callable[[sqlite3.Connection], T]) -> T:
    db.execute("BEGIN IMMEDIATE")
    try:
        result = change(db)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result


def _retrying(attempt: Callable[[], T], timeout: float) -> T:
    """Retry on "database is locked" / "busy" (beyond the busy timeout's own waiting)."""
    import sqlite3

    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
        time.sleep(pause * (1 + random.random()))
        pause = min(pause * 2, 0.05)


def _row_for(
    db: sqlite3.Connection, gateway: str, base_url: str, task_id: str, model: str | None
) -> int:
    row = db.execute(
        "SELECT row_id FROM tasks WHERE base_url = ? AND task_id = ?", (base_url, task_id)
    ).fetchone()
    if row is not None:
        return int(row[0])
    now = time.time()
    cursor = db.execute(
        "INSERT INTO tasks (gateway, base_url, task_id, model, status, host, pid, kernel,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, 'unknown', ?, ?, ?, ?, ?)",
        (gateway, base_url, task_id, model, *_process(), now, now),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _update_task(db: sqlite3.Connection, row_id: int, task: Task, error: str | None) -> None:
    if error is None and task.error is not None:
        code = f"{task.error.code}: " if task.error.code else ""
        error = f"{code}{task.error.message}".strip() or None
    db.execute(
        "UPDATE tasks SET model = COALESCE(?, model), progress = ?,"
        " video_url = COALESCE(?, video_url), completed_at = COALESCE(completed_at, ?),"
        " url_expires_at = COALESCE(?, url_expires_at) WHERE row_id = ?",
        (task.model, task.progress, task.video_url, task.completed_at, task.expires_at, row_id),
    )
    _set_status(db, row_id, task.status, error)


def _set_status(db: sqlite3.Connection, row_id: int, status: str, error: str | None) -> None:
    row = db.execute("SELECT status, error FROM tasks WHERE row_id = ?", (row_id,)).fetchone()
    if row is None:
        return
    kept = merge_status(str(row[0]), status)
    note = error if kept == status else row[1]
    db.execute(
        "UPDATE tasks SET status = ?, error = ?, updated_at = ? WHERE row_id = ?",
        (kept, note, time.time(), row_id),
    )


def _record(row: Sequence[Any]) -> LedgerRecord:
    request = json.loads(row[5]) if row[5] else None
    return LedgerRecord(
        row_id=row[0],
        gateway=row[1],
        base_url=row[2],
        task_id=row[3],
        model=row[4],
        request=request if isinstance(request, dict) else None,
        status=row[6],
        progress=row[7],
        video_url=row[8],
        completed_at=row[9],
        error=row[10],
        path=Path(row[11]) if row[11] else None,
        size=row[12],
        sha256=row[13],
        host=row[14],
        pid=row[15],
        kernel=row[16],
        created_at=row[17],
        updated_at=row[18],
        grid_id=row[19],
        grid_row=row[20],
        service_url_expiry=row[21],
    )


def _process() -> tuple[str, int, str | None]:
    """This machine, process and (inside Jupyter) kernel id, to tell writers apart."""
    return socket.gethostname(), os.getpid(), _kernel_id()


def _kernel_id() -> str | None:
    app_module = sys.modules.get("ipykernel.kernelapp")
    if app_module is None:
        return None
    try:
        app = app_module.IPKernelApp
        if not app.initialized():
            return None
        name = Path(app.instance().connection_file).stem
    except Exception:
        return None
    return name.removeprefix("kernel-") or None
