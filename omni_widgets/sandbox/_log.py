"""What the sandbox saw and did, kept so tests can count requests, created tasks and callback
attempts.
"""

from __future__ import annotations

import threading
from typing import NamedTuple


class RequestRecord(NamedTuple):
    """One request to the API or the file store; status 0: the connection was dropped unanswered."""

    method: str
    path: str
    status: int


class CallbackAttempt(NamedTuple):
    """One POST to a task's callback_url: the HTTP status, or the error when none came back."""

    task_id: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    body: dict[str, object]


class Recorder:
    """Thread-safe append-only logs, read as snapshots."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._created: list[str] = []
        self._callbacks: list[CallbackAttempt] = []

    def request(self, method: str, path: str, status: int) -> None:
        """Log an answered (or dropped) request."""
        with self._lock:
            self._requests.append(RequestRecord(method, path, status))

    def created(self, task_id: str) -> None:
        """Log a task that was really created."""
        with self._lock:
            self._created.append(task_id)

    def callback(self, attempt: CallbackAttempt) -> None:
        """Log one callback delivery attempt."""
        with self._lock:
            self._callbacks.append(attempt)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every API and file request so far (admin `/_sandbox/` requests are not logged)."""
        with self._lock:
            return list(self._requests)

    @property
    def created_task_ids(self) -> list[str]:
        """Ids of every task created so far, in order."""
        with self._lock:
            return list(self._created)

    @property
    def callbacks(self) -> list[CallbackAttempt]:
        """Every callback attempt so far."""
        with self._lock:
            return list(self._callbacks)

    def clear(self) -> None:
        """Forget everything logged (tasks themselves stay queryable)."""
        with self._lock:
            self._requests.clear()
            self._created.clear()
            self._callbacks.clear()

    def snapshot(self) -> dict[str, object]:
        """JSON-ready view for the admin endpoint."""
        with self._lock:
            return {
                "requests": [r._asdict() for r in self._requests],
                "created_task_ids": list(self._created),
                "callbacks": [
                    {k: v for k, v in c._asdict().items() if k != "body"} for c in self._callbacks
                ],
            }
