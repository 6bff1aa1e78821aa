"""In a real kernel, Generate starts the task on the kernel's loop and returns at once: other
cells run while it is in flight, and the task still finishes and fills its card."""

from __future__ import annotations

import pytest
from _kernel import Kernel

pytestmark = pytest.mark.kernel

SETUP = """
from omni_widgets.notebook.connection import shared_sandbox
# A slower sandbox keeps the 5 s clip in flight ~8 s: long enough to run another cell meanwhile.
shared_sandbox().speed = 10

import omni_widgets as omni
p = omni.Panel(output_dir=OUT)
p.prompt.value = "A teapot spinning on a table"
p.generate_button.click()
job = p.jobs[0]
"""


def test_kernel_runs_other_cells_while_a_task_runs(kernel: Kernel, tmp_path: object) -> None:
    kernel.execute(f"OUT = {str(tmp_path)!r}")
    kernel.execute(SETUP, timeout=60)

    during = kernel.execute("(job.done, job.running, 6 * 7)", timeout=10)
    assert during.result == "(False, True, 42)"

    kernel.wait_until("job.done", timeout=60)
    assert kernel.value("job.phase") == "completed", kernel.value("job.error_message")
    assert kernel.value("p.cards.children[0].status_text") == "Completed"
    assert kernel.value("len(p.cards.children[0]._media.children[0].value) > 1000") is True
    assert kernel.value("str(job.path).startswith(OUT)") is True
    assert kernel.value("p.generate_button.disabled") is False


def test_panel_as_last_line_is_shown_once(kernel: Kernel) -> None:
    shown = kernel.execute("import omni_widgets as omni\nomni.panel()", timeout=60)
    views = [
        o for o in shown.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(views) == 1, shown.outputs
    assert views[0]["data"]["text/plain"].startswith("omni-widgets panel:")
    # Shown again on purpose in a later cell, it displays as usual.
    kernel.execute("p2 = omni.panel()", timeout=30)
    later = kernel.execute("p2", timeout=30)
    assert sum("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in later.outputs) == 1, later.outputs  # fmt: skip
