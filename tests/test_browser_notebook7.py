"""The quickstart in Notebook 7 (not only JupyterLab 4): run all cells, type a prompt into the
panel, click Generate, and the card's video must really play. Saves test-artifacts/notebook7.png.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

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

PROMPT = "A lighthouse at dusk, waves crashing, gulls calling"


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """``jupyter notebook`` (Notebook 7) with the Lab harness's isolation; no API key in its env.

    PYTHONPATH lets the kernel import this checkout even when it is not pip-installed.
    """
    server = LabServer.start(
        tmp_path_factory.mktemp("nb7-root"),
        tmp_path_factory.mktemp("nb7-state"),
        env={"PYTHONPATH": str(REPO_ROOT)},
        app="notebook",
    )
    yield server
    server.stop()


def test_quickstart_panel_plays_in_notebook7(chromium: Browser, notebook7: LabServer) -> None:
    notebook = notebook7.copy_in(QUICKSTART, QUICKSTART_NAME)
    t0 = time.monotonic()
    with (
        LabPage.new(chromium, notebook7, width=1280, height=1500) as nb,
        failure_report(nb, "notebook7"),
    ):
        _run(nb, notebook)
    print(f"notebook 7: opened, generated and played in {time.monotonic() - t0:.1f} s")


def _run(nb: LabPage, notebook: str) -> None:
    page = nb.page
    nb.open_notebook(notebook)
    # This is Notebook 7's own page, not Lab: its app, at its /notebooks/ URL.
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    assert "/notebooks/" in page.url
    nb.run_all_cells(timeout=120)

    panel = nb.find(".omni-panel", timeout=60)
    assert "SANDBOX" in nb.find(".omni-panel .omni-sandbox-badge").inner_text()

    card = generate_from_panel(nb, PROMPT)
    assert card.locator(".omni-sandbox-badge").inner_text().strip() == "SANDBOX"
    wait_until_completed(nb, card, COMPLETED_TIMEOUT_S)
    assert "lighthouse at dusk" in card.locator(".omni-prompt").inner_text()
    assert_video_plays(nb, PANEL_DURATION_S)

    page.mouse.move(0, 0)
    panel.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # let the scrolled video layer repaint before the picture
    shot = nb.screenshot("notebook7", full_page=False)
    assert shot.stat().st_size > 20_000
