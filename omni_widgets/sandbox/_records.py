"""Task records on disk: one SQLite file, so a restarted sandbox still knows (and renders) earlier
tasks.

A record holds what the task's answers and its video derive from: the request's few fields, the
planned timeline (anchored to the wall clock, since monotonic clocks do not survive a process)
and the video's spec. Rendering is deterministic from the spec, so the MP4 itself is not kept.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._render import VideoSpec
from ._validate import CreateRequest

SCHEMA_VERSION = 1
FILE_NAME = "tasks.sqlite3"


@dataclasses.dataclass(frozen=True)
class Record:
    """A stored task: its fields, with the start as wall-clock seconds instead of monotonic."""

    id: str
    created_wall: float
    fields: dict[str, Any]
    request: CreateRequest
    video: VideoSpec


class RecordFile:
    """The SQLite file of one state folder (WAL, busy timeout); callers serialise access."""

    def __init__(self, state_dir: Path, name: str = FILE_NAME) -> None:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = state_dir / name
        self._db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise RuntimeError(f"{self.path}: records of schema {version}, not {SCHEMA_VERSION}")
        with self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS tasks ("
                "id TEXT PRIMARY KEY, created REAL NOT NULL, record TEXT NOT NULL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created)")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def save(self, record: Record) -> None:
        """Insert (or replace) one record."""
        body = {
            "fields": record.fields,
            "request": _encode(record.request, skip=("image_urls", "images")),
            "video": _encode(record.video),
        }
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO tasks (id, created, record) VALUES (?, ?, ?)",
                (record.id, record.created_wall, json.dumps(body)),
            )

    def load(self, since: float) -> Iterator[Record]:
        """Records created at or after wall time `since`, oldest first."""
        rows = self._db.execute(
            "SELECT id, created, record FROM tasks WHERE created >= ? ORDER BY created", (since,)
        ).fetchall()
        for task_id, created, text in rows:
            body = json.loads(text)
            request = CreateRequest(**_decode(body["request"]), image_urls=(), images=())
            video = VideoSpec(**_decode(body["video"]))
            yield Record(task_id, created, body["fields"], request, video)

    def delete_before(self, cutoff: float) -> None:
        """Forget records created before wall time `cutoff`."""
        with self._db:
            self._db.execute("DELETE FROM tasks WHERE created < ?", (cutoff,))

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()


def _encode(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A dataclass's fields as JSON: bytes as {"b64": ...}, tuples as lists."""
    return {
        f.name: _value(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name not in skip
    }


def _value(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple | list):
        return [_value(item) for item in value]
    return value


def _decode(data: dict[str, Any]) -> dict[str, Any]:
    return {name: _restore(value) for name, value in data.items()}


def _restore(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return tuple(_restore(item) for item in value)
    return value


def wall_to_monotonic(wall: float) -> float:
    """The monotonic time that corresponds to wall-clock time `wall` in this process."""
    return time.monotonic() - (time.time() - wall)
