"""Nothing paid for is lost when the kernel dies: with the default set-up (no key, so the shared
local sandbox starts by itself), a real kernel starts 5 tasks and is killed with SIGKILL; the
sandbox process lives on, a new kernel resumes the tasks, and each video is saved exactly once,
with no task created again."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import av
import pytest
from _kernel import Kernel

from omni_widgets.sandbox import find_shared, stop_shared
from omni_widgets.sandbox._state import DEFAULT_SPEED

pytestmark = pytest.mark.kernel

REPO = Path(__file__).resolve().parents[1]
TASK_ID = re.compile(r"task-unified-\d+-[a-z0-9]{8}")
SLOW = 3.2  # a 3 s clip is estimated at 64 vendor seconds: about 20 s here (15-25 s)
COUNT = 5

START = """
from omni_widgets.notebook.connection import shared_sandbox
shared_sandbox().speed = {slow}
""" + "\n".join(f"%omni kite number {n} over the hills --duration 3" for n in range(1, COUNT + 1))


def resume_cell(ids: list[str]) -> str:
    """How the new kernel resumes the tasks: a bare ``%omni resume``, no ids needed (the ledger
    knows them); ``ids`` are only what the test checks against."""
    return "%omni resume"


def kill(kernel: Kernel) -> None:
    """SIGKILL the kernel process, as the OOM killer or a crash would, then drop its channels."""
    process = kernel.manager.provisioner.process  # type: ignore[union-attr]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    kernel.shutdown()


def test_tasks_of_a_killed_kernel_are_resumed_and_saved_once(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(REPO)}  # no key, no base URL: the default set-up
    stop_shared()  # the kernel starts its own, as on a fresh machine; counts start at zero
    out = tmp_path / "omni_outputs"
    first = Kernel(env=env, cwd=tmp_path).start()
    try:
        first.execute("%load_ext omni_widgets")
        started = first.execute(START.format(slow=SLOW), timeout=120)
        assert started.error is None
        listed = first.execute("%omni list").stdout
        ids = TASK_ID.findall(listed)
        assert len(set(ids)) == COUNT, listed
        sandbox = find_shared()
        assert sandbox is not None and sandbox.pid != first.manager.provisioner.pid  # type: ignore[union-attr]
        assert sorted(sandbox.created_task_ids) == sorted(ids)
        downloads = [r for r in sandbox.requests if r[1].startswith("/files/")]
        assert downloads == [], "tasks finished before the kill: make SLOW smaller"
    finally:
        kill(first)
    try:
        survivor = find_shared()
        assert survivor is not None and survivor.pid == sandbox.pid

        with Kernel(env=env, cwd=tmp_path) as second:
            second.execute(
                "%load_ext omni_widgets\nfrom omni_widgets.notebook.jobs import session_jobs"
            )
            second.execute(resume_cell(ids), timeout=120)
            second.wait_until(
                f"len(session_jobs()) == {COUNT} and all(j.done for j in session_jobs())",
                timeout=180,
                interval=0.5,
            )
            phases = second.value("[(j.task_id, j.phase, repr(j.error)) for j in session_jobs()]")
            assert sorted(phases) == sorted((task_id, "completed", "None") for task_id in ids)

        saved = sorted(out.glob("*.mp4"))
        assert [p.name for p in saved] == sorted(f"{task_id}.mp4" for task_id in ids)
        for path in saved:
            with av.open(str(path)) as video:
                assert video.streams.video[0].frames == 3 * 24  # the whole clip, decodable
            sidecar = json.loads(path.with_suffix(".json").read_text())
            assert sidecar["task_id"] == path.stem
        assert sorted(survivor.created_task_ids) == sorted(ids)  # no create was sent again
        downloads = [r for r in survivor.requests if r[1].startswith("/files/")]
        # Each video fetched exactly once (and never before the kill, checked above).
        assert len(downloads) == COUNT and len({r[1] for r in downloads}) == COUNT
        assert {r[0] for r in downloads} == {"GET"} and {r[2] for r in downloads} == {200}
    finally:
        running = find_shared()
        if running is not None:
            running.speed = DEFAULT_SPEED
