"""A 4-variant grid as a person runs it in JupyterLab: ``%%omni grid`` with two prompts and two
aspect ratios, no API key (the shared sandbox). The grid's table must reach 4/4 done while the
kernel stays free, and picking a finished row must play its 3 s video in the grid's player.
Saves test-artifacts/grid.png. (The gallery's comparison of two results builds on this.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _lab import REPO_ROOT, LabPage, LabServer, write_notebook
from _omni_ui import assert_video_plays, failure_report
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

CELLS = [
    "from omni_widgets.notebook.connection import shared_sandbox\n"
    "shared_sandbox().speed = float('inf')",
    "%load_ext omni_widgets",
    "%%omni grid --duration 3 --aspect 16:9 9:16 -o g\na red kite over the sea\na paper boat",
    "1 + 1",
]


def test_a_grid_fills_in_and_a_finished_row_plays(
    chromium: Browser, lab_servers: Callable[..., LabServer]
) -> None:
    server = lab_servers(env={"PYTHONPATH": str(REPO_ROOT)})
    write_notebook(server.root_dir / "grid.ipynb", CELLS)
    with (
        LabPage.new(chromium, server, width=1280, height=1100) as lab,
        failure_report(lab, "grid", scroll_to=".omni-grid"),
    ):
        _run(lab)


def _run(lab: LabPage) -> None:
    page = lab.page
    lab.open_notebook("grid.ipynb")
    lab.run_all_cells(timeout=120)
    grid = lab.find(".omni-grid", timeout=60)
    page.wait_for_function(
        "() => (document.querySelector('.omni-grid')?.innerText || '').includes('4/4 done')",
        timeout=120_000,
    )
    text = grid.inner_text()
    assert "0 failed" in text and text.count("▶ play #") == 4, text
    for prompt in ("a red kite over the sea", "a paper boat"):
        assert prompt in text
    page.wait_for_function(
        "() => document.querySelectorAll('.omni-grid select option').length === 5",
        timeout=30_000,
    )
    grid.locator("select").select_option(index=2)
    assert_video_plays(lab, 3.0, selector=".omni-grid video")
    lab.screenshot("grid", scroll_to=".omni-grid")
