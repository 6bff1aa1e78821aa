"""Plain-text reports for ``%omni status``, ``%omni list`` and ``%omni config``.

Plain text, because it reads the same in a notebook, a terminal and a saved .ipynb, and tests can
compare it. The API key is never passed in here: only where it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..core.download import DEFAULT_OUTPUT_DIR
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
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(
            [*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]
        ).rstrip()
        for row in rows
    )


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
    ]
    return "\n".join(lines)


def _source(name: str) -> str:
    return "the default" if name == "default" else name


def _excerpt(prompt: str) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= PROMPT_COLUMN else flat[: PROMPT_COLUMN - 1] + "…"
