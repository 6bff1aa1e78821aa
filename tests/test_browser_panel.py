"""The quickstart as a person uses it: JupyterLab in Debian's Chromium runs the notebook, a prompt
is typed, Generate is clicked, and the card's video must really play. Saves
test-artifacts/panel.png (the README's picture, copied to docs/panel.png by hand)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from _lab import REPO_ROOT, LabPage, LabServer, artifacts_dir
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

PROMPT = "A paper boat sails down a rainy street, close-up, soft rain sounds"


def test_quickstart_generates_and_plays(
    chromium: Browser, lab_servers: Callable[..., LabServer]
) -> None:
    # PYTHONPATH lets the kernel import this checkout even when it is not pip-installed.
    server = lab_servers(env={"PYTHONPATH": str(REPO_ROOT)})
    notebook = server.copy_in(QUICKSTART, QUICKSTART_NAME)
    t0 = time.monotonic()
    with (
        LabPage.new(chromium, server, width=1280, height=1500) as lab,
        failure_report(lab, "panel"),
    ):
        _run(lab, notebook)
    print(f"quickstart: opened, generated and played in {time.monotonic() - t0:.1f} s")


def _run(lab: LabPage, notebook: str) -> None:
    lab.open_notebook(notebook)
    lab.run_all_cells(timeout=120)
    page = lab.page

    panel = lab.find(".omni-panel", timeout=60)
    assert "SANDBOX" in lab.find(".omni-panel .omni-sandbox-badge").inner_text()
    assert "Prompt" in lab.find(".omni-panel .omni-reason").inner_text()

    card = generate_from_panel(lab, PROMPT)
    wait_until_completed(lab, card, COMPLETED_TIMEOUT_S)
    assert "paper boat" in card.locator(".omni-prompt").inner_text()
    assert "omni_outputs/task-unified-" in card.locator(".omni-path").inner_text()
    assert_video_plays(lab, PANEL_DURATION_S)

    # The panel and its card, as the README shows them.
    page.mouse.move(0, 0)
    panel.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot = artifacts_dir() / "panel.png"
    panel.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
