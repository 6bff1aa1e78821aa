"""A grid survives a kernel restart: a real kernel runs a 4-variant ``%%omni grid`` on the shared
sandbox, is killed (SIGKILL) with two rows created and two not sent, and a new kernel running the
same cell watches the two and sends the other two: four creates in all, four videos saved."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from _kernel import Kernel

from omni_widgets.sandbox import find_shared
from omni_widgets.sandbox._state import DEFAULT_SPEED

pytestmark = pytest.mark.kernel

REPO = Path(__file__).resolve().parents[1]
SLOW = 3.2  # a 3 s clip takes about 20 s here: the first rows are still running at the kill
CELL = "%%omni grid --duration 3 4 --aspect 16:9 9:16 --concurrency 2 -o g\na kite over the hills\n"
SET_SPEED = (
    "from omni_widgets.notebook.connection import shared_sandbox\nshared_sandbox().speed = {}"
)


def kill(kernel: Kernel) -> None:
    process = kernel.manager.provisioner.process  # type: ignore[union-attr]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    kernel.shutdown()


def test_a_grid_resumes_after_a_kernel_restart_without_creating_a_row_twice(
    tmp_path: Path, _isolated_ledger: Path
) -> None:
    env = {"PYTHONPATH": str(REPO), "OMNI_LEDGER": str(_isolated_ledger)}
    first = Kernel(env=env, cwd=tmp_path).start()
    try:
        first.execute("%load_ext omni_widgets")
        first.execute(SET_SPEED.format(SLOW))
        sandbox = find_shared()
        assert sandbox is not None
        before = set(sandbox.created_task_ids)
        assert first.execute(CELL, timeout=60).error is None
        first.wait_until("sum(r['task_id'] is not None for r in g.rows) == 2", timeout=60)
        statuses = first.value("[r['status'] for r in g.rows]")
        assert statuses[2:] == ["queued", "queued"], statuses
        grid_id = first.value("g.run.grid_id")
    finally:
        kill(first)
    try:
        made_first = set(sandbox.created_task_ids) - before
        assert len(made_first) == 2
        with Kernel(env=env, cwd=tmp_path) as second:
            second.execute("%load_ext omni_widgets")
            second.execute(SET_SPEED.format("float('inf')"))
            assert second.execute(CELL, timeout=60).error is None
            assert second.value("g.run.grid_id") == grid_id
            second.wait_until("g.run.done", timeout=180, interval=0.5)
            rows = second.value("[(r['task_id'], r['status']) for r in g.rows]")
        made = set(sandbox.created_task_ids) - before
        assert len(made) == 4  # two before the kill, two after: none twice
        assert made_first <= {task_id for task_id, _ in rows}
        assert [status for _, status in rows] == ["saved"] * 4
        assert len(list((tmp_path / "omni_outputs").glob("*.mp4"))) == 4
    finally:
        running = find_shared()
        if running is not None:
            running.speed = DEFAULT_SPEED
