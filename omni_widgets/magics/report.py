"""Plain-text reports for ``%omni status``, ``%omni list`` and ``%omni config``.

Plain text, because it reads the same in a notebook, a terminal and a saved .ipynb, and tests can
compare it. The API key is never passed in here: only where it came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ..core.download import DEFAULT_OUTPUT_DIR
from ..core.ledger import LedgerRecord
from ..core.requests import MODELS
from ..core.resume import ResumeOutcome
from ..core.settings import Settings
from ..core.task import Task
from ..notebook.jobs import Job

PROMPT_COLUMN = 40
MASK = "••••••••"


def job_status(job: Job) -> str:
    """One line: id, kind, phase and progress, elapsed time, file or problem."""
    progress = job.task.progress if job.task else 0
    parts = [
        job.task_id or "(not created)",
        job.mode,
        f"{job.phase} {100 if job.phase == 'completed' else progress}%",
        f"{job.elapsed:.0f} s",
    ]
    if job.path is not None:
        parts.append(f"file: {job.path}")
    if job.error is not None:
        parts.append(f"error: {job.error_message}")
    elif job.notice:
        parts.append(job.notice)
    return "  ".join(parts)


def task_status(task: Task) -> str:
    """One line for a task this session does not follow (as the service reports it now)."""
    parts = [task.id, task.model or "?", f"{task.status} {task.progress}%"]
    if task.error is not None:
        parts.append(f"error: {task.error.code or 'failed'}: {task.error.message}")
    if task.video_url:
        parts.append("video ready: %omni resume " + task.id + " saves it")
    return "  ".join(parts)


def jobs_table(jobs: Sequence[Job]) -> str:
    """This session's tasks, newest first, as an aligned table."""
    if not jobs:
        return "No %omni tasks in this session yet. Start one with: %omni a red kite over the sea"
    rows = [("ID", "KIND", "STATUS", "ELAPSED", "FILE", "PROMPT")]
    for job in jobs:
        progress = 100 if job.phase == "completed" else (job.task.progress if job.task else 0)
        rows.append(
            (
                job.task_id or "(not created)",
                job.mode,
                f"{job.phase} {progress}%",
                f"{job.elapsed:.0f} s",
                str(job.path) if job.path else "-",
                _excerpt(job.prompt),
            )
        )
    return "\n".join(_aligned(rows))


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell; the last one (the prompt) left as it is."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(
            [*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]
        ).rstrip()
        for row in rows
    ]


def ledger_table(records: Sequence[LedgerRecord], *, what: str = "tasks") -> str:
    """Recorded tasks of every session, newest first, as an aligned table, with what to do next.

    A SERVICE column appears when the tasks come from more than one service (base URL), and
    a GATEWAY column when they come from more than one gateway.
    """
    if not records:
        return f"No recorded {what}. Start one with: %omni a red kite over the sea"
    services = len({r.base_url for r in records}) > 1
    gateways = len({r.gateway for r in records}) > 1
    head = [
        "ID",
        "KIND",
        "STATUS",
        "CREATED",
        *(["GATEWAY"] if gateways else []),
        *(["SERVICE"] if services else []),
        "FILE",
    ]
    rows = [(*head, "PROMPT")]
    for record in records:
        kind = MODELS.get(record.model or "")
        where = [urlsplit(record.base_url).netloc or record.base_url] if services else []
        rows.append(
            (
                record.task_id or "(no id)",
                kind.__name__ if kind else (record.model or "?"),
                record.status,
                dt.datetime.fromtimestamp(record.created_at).strftime("%Y-%m-%d %H:%M"),
                *([record.gateway] if gateways else []),
                *where,
                str(record.path) if record.path else "-",
                _excerpt(record.prompt),
            )
        )
    lines = _aligned(rows)
    resumable = sum(1 for r in records if r.unfinished and r.task_id)
    lost = sum(1 for r in records if r.status == "unknown" and not r.task_id)
    if resumable:
        lines.append(
            f"{resumable} unfinished: %omni resume watches and saves those of the service in use"
        )
    if lost:
        lines.append(
            f"{lost} create(s) with an unknown outcome and no id: a task may exist and be "
            "billed; check your dashboard before resubmitting"
        )
    return "\n".join(lines)


def resume_report(outcome: ResumeOutcome) -> str:
    """One line for a recorded task that could not be resumed, and why."""
    return f"{outcome.task_id or '(no id)'}  {outcome.state}: {outcome.message}"


def config_report(
    settings: Settings,
    sandbox_url: str | None,
    *,
    duration: object,
    aspect_ratio: str,
    out: str | None,
    wait: bool,
) -> str:
    """The effective settings: which service, where the key came from (masked), the defaults."""
    if settings.api_key is None:
        where = sandbox_url or "started on first use"
        lines = [
            f"service   the shared local sandbox ({where}): free local videos, no key needed",
            "api key   none set (OMNI_API_KEY or EVOLINK_API_KEY); set one and restart the "
            "kernel to use the real service",
        ]
    else:
        lines = [
            f"service   {settings.base_url} (from {_source(settings.base_url_source)})",
            f"api key   {MASK} (from {settings.key_source})",
        ]
    folder = Path(out) if out else DEFAULT_OUTPUT_DIR
    lines += [
        f"defaults  duration={duration!r}  aspect_ratio={aspect_ratio!r}  "
        f"out={str(folder)!r}{'' if out else ' (default)'}  wait={wait!r}",
        "          change with %config OmniMagics.duration = 6 (also aspect_ratio, out, wait),",
        "          or c.OmniMagics.duration = 6 in ipython_config.py; options on a line win",
        f"videos    saved under {folder.expanduser().resolve()}",
        _ledger_line(settings),
    ]
    return "\n".join(lines)


def _ledger_line(settings: Settings) -> str:
    if settings.ledger is None:
        return f"ledger    off (from {_source(settings.ledger_source)}): tasks are not recorded"
    return f"ledger    {settings.ledger} (from {_source(settings.ledger_source)})"


def _source(name: str) -> str:
    return "the default" if name == "default" else name


def _excerpt(prompt: str) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= PROMPT_COLUMN else flat[: PROMPT_COLUMN - 1] + "…"
