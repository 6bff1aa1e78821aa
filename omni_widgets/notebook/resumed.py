"""Jobs for the tasks an earlier session left unfinished, found in the task ledger."""

from __future__ import annotations

from pathlib import Path

from ..core.resume import ResumeOutcome
from ..core.task import Task
from .connection import Connection
from .jobs import Job, find_job

ORIGIN = "resumed from an earlier session"


def unfinished_jobs(
    connection: Connection, dest: str | Path | None = None, *, earlier_only: bool = False
) -> tuple[list[Job], list[ResumeOutcome]]:
    """A job for each recorded unfinished task of the connection's service that this session does
    not already follow to its end, and the outcomes of those that cannot be watched any more.

    This session's jobs that ended in an error are included again unless ``earlier_only``.
    The jobs are not started: the caller starts them (``job.resume()``) where it shows them.
    """
    watch, settled = connection.client.resumable()
    jobs: list[Job] = []
    for record in watch:
        assert record.task_id is not None
        known = find_job(record.task_id)
        if known is not None:
            if not earlier_only and not known.running and known.phase != "completed":
                jobs.append(known)  # this session lost it (an error): watch it again
            continue
        task = Task(id=record.task_id, model=record.model, status="unknown")
        jobs.append(Job(connection, task=task, dest=dest, origin=ORIGIN, prompt=record.prompt))
    return jobs, settled
