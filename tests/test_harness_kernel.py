"""Smoke test of the kernel harness: a cell's asyncio task outlives the cell, other cells run
meanwhile, and its effects are visible through later executes (what nbclient cannot see)."""

from __future__ import annotations

import os
import time

import pytest
from _kernel import Kernel, KernelError

pytestmark = pytest.mark.kernel

START_TASK = """
import asyncio, time
DONE_AT = None
_started = time.monotonic()

async def _later():
    global DONE_AT
    await asyncio.sleep(2)
    DONE_AT = time.monotonic() - _started
    print("task finished")

_task = asyncio.get_running_loop().create_task(_later())  # strong ref: asyncio keeps weak ones
"""


def test_cell_runs_while_earlier_task_is_pending(kernel: Kernel) -> None:
    started = kernel.execute(START_TASK, timeout=10)
    assert started.elapsed < 1.5, "creating the task must not wait for it"

    t0 = time.monotonic()
    during = kernel.execute("(DONE_AT, _task.done())", timeout=10)
    assert time.monotonic() - t0 < 1.0
    assert during.result == "(None, False)"

    waited = kernel.wait_until("_task.done()", timeout=10)
    assert 0.2 < waited < 5
    done_at = kernel.value("DONE_AT")
    assert isinstance(done_at, float) and 1.9 <= done_at < 5

    # The task's print is routed to the cell that created it, after that cell went idle.
    late = kernel.late_outputs(started.msg_id, wait=0.5)
    assert "task finished" in "".join(o.get("text", "") for o in late)
    assert "task finished" not in started.stdout


def test_errors_and_overlapping_submits(kernel: Kernel) -> None:
    with pytest.raises(KernelError, match="ZeroDivisionError"):
        kernel.execute("1/0")
    # Two cells submitted back to back are answered separately and in order.
    first = kernel.submit("import time; time.sleep(0.5); print('one')")
    second = kernel.submit("print('two')")
    r2 = kernel.collect(second, timeout=10)
    r1 = kernel.collect(first, timeout=10)
    assert (r1.stdout, r2.stdout) == ("one\n", "two\n")
    assert r2.execution_count == r1.execution_count + 1  # type: ignore[operator]


def test_env_is_scrubbed_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_API_KEY", "real-secret")
    monkeypatch.setenv("EVOLINK_API_KEY", "real-secret-too")
    monkeypatch.setenv("OMNI_DROPPED", "x")
    with Kernel(env={"OMNI_BASE_URL": "http://127.0.0.1:9"}) as k:
        k.execute("import os")
        got = k.value("{k: v for k, v in os.environ.items() if k.startswith(('OMNI', 'EVOLINK'))}")
    # OMNI_SANDBOX_HOME stays: it is the session's private shared sandbox (conftest.py).
    home = os.environ["OMNI_SANDBOX_HOME"]
    assert got == {"OMNI_BASE_URL": "http://127.0.0.1:9", "OMNI_SANDBOX_HOME": home}
