"""Resuming recorded tasks after a restart: which to watch, and what became of each.

Written once as plain functions and an operation (see ``protocol``), so the sync and async
clients, the magics and the panel all settle a task the same way.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import NotFoundError, OmniError, TaskFailedError, URLExpiredError
from .gateway import GATEWAYS
from .ledger import LedgerRecord
from .protocol import Op
from .task import Task

#: A create still "submitting" after this long is taken as lost (its process ended unanswered).
STALE_SUBMIT_S = 3600.0


def no_id_advice(gateway: str) -> str:
    """What to do about a create whose task id never arrived, naming its gateway's dashboard."""
    known = GATEWAYS.get(gateway)
    where = known.dashboard if known is not None and known.dashboard else f"your {gateway} account"
    return (
        "no task id was ever received, so it cannot be watched; a task may exist and be billed: "
        f"check {where} before resubmitting"
    )


@dataclass(frozen=True)
class ResumeOutcome:
    """What resuming one recorded task came to.

    ``state`` is "saved" (``path`` is the video), or why not: "expired", "failed", "cancelled",
    "not found", "unknown" (no task id) or "error" (it stays unfinished: resume again later).
    """

    task_id: str | None
    state: str
    path: Path | None
    message: str
    row_id: int | None = None

    @property
    def saved(self) -> bool:
        return self.state == "saved"


@dataclass(frozen=True)
class ResumePlan:
    """The unfinished records split into those to watch and those settled without asking."""

    watch: list[LedgerRecord]
    settled: list[ResumeOutcome]
    stale_rows: list[int]


def plan_resume(records: Sequence[LedgerRecord], now: float) -> ResumePlan:
    """Split unfinished records: watchable ones, expired URLs, and creates with no task id."""
    watch: list[LedgerRecord] = []
    settled: list[ResumeOutcome] = []
    stale: list[int] = []
    for record in records:
        if record.task_id is None:
            if record.status == "submitting" and _abandoned(record, now):
                stale.append(record.row_id)
            elif record.status == "submitting":
                continue  # another live process is sending it right now
            advice = no_id_advice(record.gateway)
            settled.append(ResumeOutcome(None, "unknown", None, advice, record.row_id))
        elif (
            record.status == "completed"
            and record.url_expires_at is not None
            and record.url_expires_at <= now
        ):
            settled.append(
                ResumeOutcome(
                    record.task_id,
                    "expired",
                    None,
                    f"task {record.task_id}: its video URL expired 24 h after completion, "
                    "before it was saved; resubmit the request to make it again",
                    record.row_id,
                )
            )
        else:
            watch.append(record)
    return ResumePlan(watch, settled, stale)


def resume_op(
    record: LedgerRecord, wait: Op[Task], download: Callable[[Task], Op[Path]]
) -> Op[ResumeOutcome]:
    """Watch one recorded task to its end and save its video; every ending is an outcome."""
    task_id = record.task_id
    try:
        task = yield from wait
        path = yield from download(task)
    except NotFoundError as exc:
        return ResumeOutcome(task_id, "not found", None, str(exc), record.row_id)
    except TaskFailedError as exc:
        return ResumeOutcome(task_id, exc.task.status, None, str(exc), record.row_id)
    except URLExpiredError as exc:
        return ResumeOutcome(task_id, "expired", None, str(exc), record.row_id)
    except OmniError as exc:
        message = f"{exc}; it stays unfinished in the ledger: resume again later"
        return ResumeOutcome(task_id, "error", None, message, record.row_id)
    return ResumeOutcome(task_id, "saved", path, f"task {task_id} saved to {path}", record.row_id)


def _abandoned(record: LedgerRecord, now: float) -> bool:
    """True when the process that sent this create is gone (same host), or it is very old."""
    if now - record.created_at > STALE_SUBMIT_S:
        return True
    if record.host != socket.gethostname() or record.pid == os.getpid():
        return False
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
