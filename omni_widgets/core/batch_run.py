"""Running a planned grid: each row created once, watched and saved, at most ``limit`` at a time.

The row's life is one operation (:meth:`GridRun.row_op`, a generator of the protocol's actions),
so the sync client (threads) and the async client (tasks) run the very same steps. Before a row is
sent its ledger records (by grid id and row index) are read: a row that already has a task is
watched, not re-sent; a row whose create's outcome is unknown is reported, not re-sent; only a row
with no record (or only refused creates) is sent. Stopping sends nothing more; rows already
created are still watched and saved.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .aimd import Aimd, AsyncGate, ThreadGate
from .batch import GridStoppedError, Plan, PlannedRow, plan
from .budget import check_budget
from .errors import OmniError, Problem, RateLimitError, TaskFailedError, ValidationError
from .ledger import LedgerRecord
from .protocol import Op, Update
from .result import Result
from .retry import RetryNotice
from .task import Task

if TYPE_CHECKING:
    from .client import AsyncOmniClient, OmniClient, _BaseClient

logger = logging.getLogger("omni_widgets")
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 64
CONCURRENCY_ALLOWED = f"an integer 1..{MAX_CONCURRENCY}"
RowOutcome = Result | BaseException
#: Row statuses that will not change any more.
FINAL = ("saved", "failed", "not sent", "unknown", "lost")


@dataclass(frozen=True)
class Decision:
    """What to do with a row, from its ledger records: send, watch, or report what is known."""

    kind: str  # "send", "watch", "saved", "unknown", "lost"
    record: LedgerRecord | None = None


def decide(records: list[LedgerRecord]) -> Decision:
    """A row is sent only when no create of it can have made a task (none, or only rejected)."""
    live = [r for r in records if r.status != "rejected"]
    if not live:
        return Decision("send")
    record = live[-1]
    if record.status == "saved" and record.path is not None and record.path.is_file():
        return Decision("saved", record)
    if record.task_id is None:
        return Decision("unknown", record)
    if record.status in ("expired", "not found"):
        return Decision("lost", record)
    return Decision("watch", record)


@dataclass
class RowState:
    """One row as the run sees it now."""

    row: PlannedRow
    status: str = "queued"
    progress: int = 0
    task_id: str | None = None
    result: Result | None = None
    error: BaseException | None = None
    started_at: float | None = None
    finished_at: float | None = None
    decision: Decision = field(default_factory=lambda: Decision("send"))

    @property
    def index(self) -> int:
        return self.row.index

    @property
    def error_code(self) -> str | None:
        """The task's failure code, else the error's class name."""
        if self.error is None:
            return None
        if isinstance(self.error, TaskFailedError) and self.error.task.error is not None:
            return self.error.task.error.code or "failed"
        return type(self.error).__name__

    def record(self) -> dict[str, Any]:
        """The row as plain data: settings, status, task id, error, credits, file, seconds."""
        elapsed = (
            None
            if self.started_at is None
            else round((self.finished_at or time.monotonic()) - self.started_at, 2)
        )
        return {
            "index": self.index,
            **self.row.settings(),
            "status": self.status,
            "progress": self.progress,
            "task_id": self.task_id,
            "error_code": self.error_code,
            "error": None if self.error is None else str(self.error),
            "credits": self.row.credits,
            "path": None if self.result is None else str(self.result.path),
            "seconds": elapsed,
        }


class GridRun:
    """A grid being run by one client: its rows' states, totals, and a ``stop()``."""

    def __init__(
        self,
        client: _BaseClient,
        planned: Plan,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        dest: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        on_change: Callable[[RowState], None] | None = None,
    ) -> None:
        self.client = client
        self.plan = planned
        self.aimd = Aimd(_checked_concurrency(concurrency))
        self.dest = dest
        self.timeout = timeout
        self.on_change = on_change
        self.rows = [RowState(row) for row in planned.rows]
        self.stopped = False
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._clock: Callable[[], float] = time.monotonic
        self._read_ledger()

    @property
    def grid_id(self) -> str:
        return self.plan.grid_id

    @property
    def to_send(self) -> list[RowState]:
        return [r for r in self.rows if r.decision.kind == "send" and r.status == "queued"]

    @property
    def estimate(self) -> float:
        """Estimated credits of the rows this run would still send (watched rows cost nothing)."""
        return round(sum(r.row.credits for r in self.to_send), 2)

    def check_budget(
        self, budget: float | None = None, source: str = "the budget argument"
    ) -> None:
        """Raise ``BudgetExceededError`` when the rows still to send are over the budget."""
        what = f"{self.grid_id} ({len(self.to_send)} rows to send)"
        check_budget(self.estimate, budget, what, source)

    def stop(self) -> None:
        """Send no more rows; rows already created are still watched and saved."""
        self.stopped = True

    @property
    def done(self) -> bool:
        return all(r.status in FINAL for r in self.rows)

    def records(self) -> list[dict[str, Any]]:
        """Every row as plain data, in order (see :meth:`RowState.record`)."""
        return [r.record() for r in self.rows]

    def results(self) -> list[RowOutcome]:
        """Each row's Result, or its error, in order."""
        return [
            r.result if r.result is not None else (r.error or _unfinished(self.grid_id, r))
            for r in self.rows
        ]

    def totals(self) -> dict[str, Any]:
        """Rows done, failed, running, queued and not sent; credits; elapsed and ETA in seconds."""
        counts: dict[str, int] = defaultdict(int)
        for r in self.rows:
            counts[_bucket(r.status)] += 1
        now = self.finished_at or self._clock()
        elapsed = 0.0 if self.started_at is None else now - self.started_at
        finished = counts["done"] + counts["failed"]
        left = counts["running"] + counts["queued"]
        eta = None
        if finished and left and elapsed > 0:
            eta = round(elapsed / finished * left, 1)
        return {
            "rows": len(self.rows),
            "done": counts["done"],
            "failed": counts["failed"],
            "running": counts["running"],
            "queued": counts["queued"],
            "not_sent": counts["not sent"],
            "credits": round(sum(r.row.credits for r in self.rows if r.status == "saved"), 2),
            "estimate": self.plan.estimate,
            "elapsed": round(elapsed, 1),
            "eta": eta,
            "limit": self.aimd.limit,
        }

    # --- the steps both drivers share ---------------------------------------------------

    def _read_ledger(self) -> None:
        ledger = self.client.ledger
        if ledger is None:
            return
        found = self.client._record(
            f"nothing (reading {self.grid_id} failed)",
            lambda led: led.grid_records(self.grid_id, self.client.base_url),
        )
        by_row: dict[int, list[LedgerRecord]] = defaultdict(list)
        for found_record in found or []:
            if found_record.grid_row is not None:
                by_row[found_record.grid_row].append(found_record)
        for state in self.rows:
            state.decision = decide(by_row.get(state.index, []))
            record = state.decision.record
            state.task_id = None if record is None else record.task_id
            if state.decision.kind == "saved":
                assert record is not None and record.path is not None and record.task_id
                task = Task(id=record.task_id, model=record.model, status="completed", progress=100)
                self._finish(state, "saved", result=Result(task, record.path))
            elif state.decision.kind in ("unknown", "lost"):
                self._finish(state, state.decision.kind, error=_reported(self.grid_id, state))

    def begin(self) -> None:
        self.started_at = self._clock()

    def end(self) -> None:
        self.finished_at = self._clock()

    def may_start(self, state: RowState) -> bool:
        """Called with a place held: False (and the row marked "not sent") once stopped."""
        if state.status in FINAL:
            return False
        if self.stopped and state.decision.kind == "send":
            self._finish(state, "not sent", error=GridStoppedError(self.grid_id, state.index))
            return False
        state.started_at = self._clock()
        return True

    def row_op(self, state: RowState) -> Op[Result]:
        """Create (or pick up) the row's task, wait for it and save its video."""
        client = self.client
        if state.decision.kind == "send":
            self._change(state, "sending")
            task = yield from client._recorded_submit(
                state.row.request, grid=(self.grid_id, state.index)
            )
            client._note(task)
            self.aimd.succeeded()
            state.task_id = task.id
            self._change(state, task.status)
            poll_now = False
        else:
            assert state.task_id is not None
            task = Task(id=state.task_id, status="unknown")
            self._change(state, "watching")
            poll_now = True
        task = yield from client._recorded_wait(task, self.timeout, poll_now)
        self._change(state, "downloading", 100)
        path = yield from client._recorded_download(task, self.dest)
        return Result(task, path)

    def updater(self, state: RowState) -> Callable[[Update], None]:
        def update(item: Update) -> None:
            if isinstance(item, RetryNotice):
                if item.reason == "rate limited":
                    self.aimd.rate_limited()
            elif isinstance(item, Task) and item.id == state.task_id:
                self._change(state, item.status, item.progress)

        return update

    def finished(self, state: RowState, outcome: RowOutcome) -> None:
        if isinstance(outcome, Result):
            state.task_id = outcome.task.id
            self._finish(state, "saved", result=outcome)
            return
        if isinstance(outcome, RateLimitError):
            self.aimd.rate_limited()
        task_id = getattr(outcome, "task_id", None) or getattr(
            getattr(outcome, "task", None), "id", None
        )
        if isinstance(task_id, str):
            state.task_id = task_id
        self._finish(state, "failed", error=outcome)

    def _change(self, state: RowState, status: str, progress: int | None = None) -> None:
        state.status = status
        if progress is not None:
            state.progress = progress
        if self.on_change is not None:
            self.on_change(state)

    def _finish(
        self,
        state: RowState,
        status: str,
        *,
        result: Result | None = None,
        error: BaseException | None = None,
    ) -> None:
        state.result, state.error = result, error
        state.finished_at = self._clock()
        self._change(state, status, 100 if status == "saved" else None)


def prepare(
    client: _BaseClient,
    requests: Any,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    budget: float | None = None,
    dest: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    grid_id: str | None = None,
    on_change: Callable[[RowState], None] | None = None,
    check: bool = True,
) -> GridRun:
    """Plan and check everything that can fail before a byte is sent; the run itself waits."""
    _checked_concurrency(concurrency)
    planned = plan(requests, grid_id=grid_id, gateway=getattr(client, "gateway", None))
    client.settings.require_key()
    run = GridRun(
        client, planned, concurrency=concurrency, dest=dest, timeout=timeout, on_change=on_change
    )
    logger.info(
        "%s; %d rows to send (%.2f credits), %d already recorded",
        planned.summary(),
        len(run.to_send),
        run.estimate,
        len(planned.rows) - len(run.to_send),
    )
    if check:
        run.check_budget(budget)
    return run


def run_sync(client: OmniClient, run: GridRun) -> list[RowOutcome]:
    """Run a grid on threads; Ctrl-C stops sending and leaves created rows to finish."""
    gate = ThreadGate(run.aimd)

    def one(state: RowState) -> None:
        if state.status in FINAL:
            return
        with gate:
            if not run.may_start(state):
                return
            try:
                outcome: RowOutcome = client._run(run.row_op(state), run.updater(state))
            except Exception as exc:
                outcome = exc
            run.finished(state, outcome)

    run.begin()
    pool = concurrent.futures.ThreadPoolExecutor(run.aimd.ceiling, thread_name_prefix="omni-grid")
    futures = [pool.submit(one, state) for state in run.rows]
    try:
        for future in futures:
            future.result()
    except BaseException:
        run.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    run.end()
    return run.results()


async def run_async(client: AsyncOmniClient, run: GridRun) -> list[RowOutcome]:
    """Run a grid as tasks on the running event loop."""
    gate = AsyncGate(run.aimd)

    async def one(state: RowState) -> None:
        if state.status in FINAL:
            return
        async with gate:
            if not run.may_start(state):
                return
            try:
                outcome: RowOutcome = await client._run(run.row_op(state), run.updater(state))
            except Exception as exc:
                outcome = exc
            run.finished(state, outcome)

    run.begin()
    try:
        await asyncio.gather(*(one(state) for state in run.rows))
    finally:
        run.end()
    return run.results()


def _checked_concurrency(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_CONCURRENCY:
        return value
    raise ValidationError("generate_many", [Problem("concurrency", value, CONCURRENCY_ALLOWED)])


def _bucket(status: str) -> str:
    if status == "saved":
        return "done"
    if status in ("failed", "unknown", "lost"):
        return "failed"
    if status in ("queued", "not sent"):
        return status
    return "running"


def _reported(grid_id: str, state: RowState) -> OmniError:
    record = state.decision.record
    assert record is not None
    where = f"task {record.task_id}" if record.task_id else "a create with no task id"
    if state.decision.kind == "unknown":
        advice = "its outcome is unknown (a task may exist and be billed); check your dashboard"
    else:
        advice = f"it is {record.status} ({record.error or 'no video to save'})"
    return OmniError(f"{grid_id} row {state.index}: {where}: {advice}; not re-sent")


def _unfinished(grid_id: str, state: RowState) -> OmniError:
    return OmniError(f"{grid_id} row {state.index}: still {state.status} when the run ended")
