"""The quickstart in Notebook 7 (not only JupyterLab 4): run all cells, type a prompt into the
panel, click Generate, and the card's video must really play. Saves test-artifacts/notebook7.png.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from _lab import REPO_ROOT, LabPage, LabServer
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

QUICKSTART = REPO_ROOT / "notebooks" / "01_quickstart.ipynb"
PROMPT = "A lighthouse at dusk, waves crashing, gulls calling"
PANEL_DURATION_S = 5.0  # the panel's default duration
COMPLETED_TIMEOUT_S = 180
VIDEO = ".omni-card video.omni-video"


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
    notebook = notebook7.copy_in(QUICKSTART, "01_quickstart.ipynb")
    t0 = time.monotonic()
    with LabPage.new(chromium, notebook7, width=1280, height=1500) as nb:
        try:
            _run(nb, notebook)
        except BaseException:
            nb.screenshot("notebook7-failure")
            print("browser console errors:\n" + "\n".join(nb.console_errors))
            raise
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
    generate = nb.find(".omni-panel button.omni-generate")
    assert generate.inner_text().strip() == "Generate"
    assert generate.is_disabled()

    # Type like a person: click into the prompt, type, then click Generate.
    nb.find(".omni-panel .omni-prompt-input textarea").click()
    page.keyboard.type(PROMPT, delay=5)
    page.wait_for_function("(el) => !el.disabled", arg=generate.element_handle(), timeout=15_000)
    generate.click()

    card = nb.find(".omni-panel .omni-card", timeout=30)
    assert card.locator(".omni-sandbox-badge").inner_text().strip() == "SANDBOX"
    status = card.locator(".omni-status")
    page.wait_for_function(
        "(el) => /Completed|Failed|Stopped/.test(el.innerText)",
        arg=status.element_handle(),
        timeout=COMPLETED_TIMEOUT_S * 1000,
        polling=250,
    )
    assert status.inner_text().strip() == "Completed", card.inner_text()
    assert "lighthouse at dusk" in card.locator(".omni-prompt").inner_text()

    state = nb.wait_for_video_ready(VIDEO)
    assert state.error is None, state
    assert state.ready_state >= 2, state
    assert state.duration == pytest.approx(PANEL_DURATION_S, abs=0.3), state
    assert state.video_width > 0 and state.video_height > 0, state
    refused, before, after = nb.watch_playback(VIDEO)
    assert refused is None, refused
    advanced = (after.current_time - before.current_time) % after.duration  # it loops
    assert not after.paused and advanced > 0.2, (before, after)
    assert after.decoded_video_bytes > 0, after

    page.mouse.move(0, 0)
    panel.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # let the scrolled video layer repaint before the picture
    shot = nb.screenshot("notebook7", full_page=False)
    assert shot.stat().st_size > 20_000
