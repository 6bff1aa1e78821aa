"""The magics in a real ipykernel (jupyter_client), against a sandbox this test starts.

What only a kernel shows: the magic returns while the task runs on the kernel's loop, another cell
runs meanwhile, the card ends up playing the saved file; the stop button (an interrupt) ends a
``--wait`` but not the task; bad input fails the cell with one line and creates nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _kernel import ExecResult, Kernel

from omni_widgets.sandbox import Sandbox

pytestmark = pytest.mark.kernel

REPO = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SPEED = 10.0  # a 3 s clip is estimated at 64 vendor seconds: 5-8 s here, long enough to overlap

# The client's first poll waits half the service's estimate (32 s for a 3 s clip, in vendor time);
# cap the sleeps of the magics' connections so a test takes seconds. Polling logic is unchanged.
FAST_POLLS = """
import asyncio, time
import omni_widgets.magics.magics as _omni_magics
_real_connect = _omni_magics.connect

def _fast_connect(*args, **kwargs):
    connection = _real_connect(*args, **kwargs)
    async def short(seconds):
        await asyncio.sleep(min(seconds, 0.3))
    connection.client._sleep = short
    connection.sync_client._sleep = lambda seconds: time.sleep(min(seconds, 0.3))
    return connection

_omni_magics.connect = _fast_connect
from omni_widgets.notebook.jobs import find_job, session_jobs
"""

VIDEO_SHOWN = """
import ipywidgets
_videos = [w for w in list(ipywidgets.Widget.widgets.values())
           if 'omni-video' in getattr(w, '_dom_classes', ())]
len(_videos) == 1 and bytes(_videos[0].value) == find_job(t.id).path.read_bytes()
"""


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(speed=SPEED, seed=3) as sandbox:
        yield sandbox


@pytest.fixture
def omni_kernel(sb: Sandbox, tmp_path: Path) -> Iterator[Kernel]:
    """A kernel pointed at the sandbox, working in ``tmp_path``, with the extension loaded."""
    env = {"OMNI_API_KEY": sb.api_key, "OMNI_BASE_URL": sb.base_url, "PYTHONPATH": str(REPO)}
    with Kernel(env=env, cwd=tmp_path) as kernel:
        kernel.execute("%load_ext omni_widgets")
        kernel.execute(FAST_POLLS)
        yield kernel


def widget_views(result: ExecResult) -> list[str]:
    return [bundle[WIDGET_VIEW]["model_id"] for bundle in result.displays(WIDGET_VIEW)]


def test_non_blocking_magic_frees_the_kernel_and_the_card_ends_playing(
    omni_kernel: Kernel, sb: Sandbox, tmp_path: Path
) -> None:
    first = omni_kernel.execute("%omni a cat on a skateboard --duration 3 -o t")
    assert first.error is None and len(widget_views(first)) == 1  # the live card
    task_id = omni_kernel.value("t.id")
    assert sb.created_task_ids == [task_id]

    # A cell executed while the generation is still running.
    during = omni_kernel.execute("%omni list\nprint(find_job(t.id).done)")
    assert during.stdout.splitlines()[1].startswith(task_id)
    assert during.stdout.splitlines()[-1] == "False"
    assert omni_kernel.value("find_job(t.id).running") is True

    omni_kernel.wait_until("find_job(t.id).done", timeout=60)
    assert omni_kernel.value("find_job(t.id).phase") == "completed"
    saved = tmp_path / "omni_outputs" / f"{task_id}.mp4"
    assert omni_kernel.value("str(find_job(t.id).path.resolve())") == str(saved)
    assert saved.is_file() and saved.with_suffix(".json").is_file()
    assert omni_kernel.execute(VIDEO_SHOWN).result == "True"
    assert sb.created_task_ids == [task_id]


def test_stop_button_ends_the_wait_never_the_task(omni_kernel: Kernel, sb: Sandbox) -> None:
    cell = omni_kernel.submit("%omni a slow sunrise over hills --duration 3 --wait -o r")
    deadline = time.monotonic() + 30
    while not any(o["msg_type"] == "display_data" for o in omni_kernel.late_outputs(cell, 0.1)):
        assert time.monotonic() < deadline, "the card never appeared"
    omni_kernel.interrupt()
    stopped = omni_kernel.collect(cell, timeout=30)
    assert stopped.status == "error" and stopped.error is not None
    assert stopped.error["ename"] == "KeyboardInterrupt"
    [line] = stopped.error["traceback"]
    task_id = sb.created_task_ids[-1]
    assert f"stopped waiting for task {task_id}; its card keeps watching" in line
    assert omni_kernel.value("'r' in globals()") is False

    omni_kernel.wait_until(f"find_job({task_id!r}).done", timeout=60)
    assert omni_kernel.value(f"find_job({task_id!r}).phase") == "completed"
    assert sb.created_task_ids == [task_id]  # the task was neither stopped nor created again
    waited = omni_kernel.execute(f"%omni wait {task_id} -o r\nr.path.is_file()")
    assert waited.result == "True"


def test_bad_input_fails_the_cell_in_one_line_and_creates_nothing(
    omni_kernel: Kernel, sb: Sandbox
) -> None:
    bad = omni_kernel.execute("%omni a cat --aspect 4:3 --wait", check=False)
    assert bad.status == "error"
    assert bad.stderr.strip() == (
        "UsageError: --aspect/--aspect-ratio: '4:3' is not offered; allowed: one of "
        "'16:9', '9:16', 'auto' (see %omni --help)"
    )
    cell = omni_kernel.execute("%%omni --wait\nA walk through {nowhere}\n", check=False)
    assert cell.status == "error" and "unknown name 'nowhere'" in cell.stderr
    assert sb.created_task_ids == []
    assert omni_kernel.value("len(session_jobs())") == 0
