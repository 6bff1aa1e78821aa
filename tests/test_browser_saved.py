"""Saved notebooks keep their results, in a real browser: run the quickstart in JupyterLab,
generate a video, save, stop the kernel, reopen in Lab and in Notebook 7: the video is there, it
plays (from omni_outputs/ through the Jupyter server), and no "model not found" shows. Then a
re-run shows the earlier video in the new panel. Screenshots: test-artifacts/saved-*.png.

What the front ends do (seen here): a reopened notebook that the user saved is trusted, so the
widget renderer wins over any other mime type of the same output and, its model gone, prints
"Error displaying widget: model not found". The static twin is therefore a separate text/html
output (notebook/saved.py), hidden by the widget's own style while the widget is live.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

import pytest
from _lab import REPO_ROOT, LabPage, LabServer
from _omni_ui import (
    COMPLETED_TIMEOUT_S,
    PANEL_DURATION_S,
    QUICKSTART,
    QUICKSTART_NAME,
    assert_video_plays,
    failure_report,
    generate_from_panel,
    wait_until_completed,
)
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

PROMPT = "A hot air balloon over a green valley, morning light, birdsong"
STATIC_VIDEO = ".omni-static video"
WIDGET_ERROR = ".jp-OutputArea-output.jupyter-widgets"


def test_a_saved_quickstart_shows_and_plays_its_video_after_the_kernel_stopped(
    chromium: Browser,
    lab_servers: Callable[..., LabServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    env = {"PYTHONPATH": str(REPO_ROOT)}
    root = tmp_path_factory.mktemp("saved-root")
    lab = lab_servers(env=env, root_dir=root)
    notebook = lab.copy_in(QUICKSTART, QUICKSTART_NAME)

    with (
        LabPage.new(chromium, lab, width=1280, height=1500) as page,
        failure_report(page, "saved-live"),
    ):
        page.open_notebook(notebook)
        page.run_all_cells(timeout=120)
        card = generate_from_panel(page, PROMPT)
        wait_until_completed(page, card, COMPLETED_TIMEOUT_S)
        assert_video_plays(page, PANEL_DURATION_S)
        # While the panel is live, its twin stays out of sight.
        page.page.wait_for_selector(".omni-static", state="attached", timeout=30_000)
        assert page.page.locator(".omni-static").first.is_hidden()
        _save(page)
    _stop_kernels(lab)
    saved = json.loads((root / notebook).read_text())
    html = json.dumps(saved)
    assert "omni_outputs/task-unified-" in html and "balloon" in html

    with (
        LabPage.new(chromium, lab, width=1280, height=1500) as page,
        failure_report(page, "saved-lab", scroll_to=STATIC_VIDEO),
    ):
        page.open_notebook(notebook)  # a new kernel starts: the widget models are gone
        _assert_static_result_plays(page, "saved-lab")
        # Running the notebook again: the new panel still shows the earlier video.
        page.run_all_cells(timeout=120)
        earlier = page.find(".omni-panel .omni-earlier", timeout=60)
        assert "balloon" in earlier.inner_text()
        assert_video_plays(page, PANEL_DURATION_S, selector=".omni-earlier video")
        page.screenshot("saved-lab-rerun", scroll_to=".omni-earlier")
    _stop_kernels(lab)

    notebook7 = LabServer.start(
        root, tmp_path_factory.mktemp("saved-nb7-state"), env=env, app="notebook"
    )
    try:
        with (
            LabPage.new(chromium, notebook7, width=1280, height=1500) as page,
            failure_report(page, "saved-notebook7", scroll_to=STATIC_VIDEO),
        ):
            page.open_notebook(notebook)  # as Lab saved it: the re-run above was not saved
            assert page.page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
            _assert_static_result_plays(page, "saved-notebook7")
    finally:
        notebook7.stop()


def _assert_static_result_plays(page: LabPage, shot: str) -> None:
    """The twin's video is shown, plays from the server's /files/, and no widget error shows."""
    video = page.find(STATIC_VIDEO, timeout=60)
    src = video.evaluate("(el) => el.currentSrc || el.src")
    assert "/files/omni_outputs/task-unified-" in src, src
    assert "balloon" in page.find(".omni-static").inner_text()
    # The widget output gives up on its model (about 2 s), then its error line stays hidden.
    page.page.wait_for_selector(WIDGET_ERROR, state="attached", timeout=30_000)
    errors = page.page.locator(WIDGET_ERROR)
    assert all(errors.nth(i).is_hidden() for i in range(errors.count()))
    assert not page.page.get_by_text("model not found").first.is_visible()
    assert_video_plays(page, PANEL_DURATION_S, selector=STATIC_VIDEO)
    page.page.mouse.move(0, 0)
    page.screenshot(shot, scroll_to=STATIC_VIDEO, full_page=False)


def _save(page: LabPage) -> None:
    page.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.page.wait_for_function(
        "() => !document.querySelector('.jp-mod-dirty')", timeout=30_000, polling=200
    )


def _stop_kernels(server: LabServer) -> None:
    """Shut down every kernel of the server, as a restart or a closed laptop would."""
    with urllib.request.urlopen(f"{server.url}/api/kernels", timeout=10) as resp:
        kernels = json.load(resp)
    for kernel in kernels:
        request = urllib.request.Request(
            f"{server.url}/api/kernels/{kernel['id']}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()
