"""The quickstart as a person uses it: JupyterLab in Debian's Chromium runs the notebook, a prompt
is typed, Generate is clicked, and the card's video must really play. Saves
test-artifacts/panel.png (the README's picture, copied to docs/panel.png by hand)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from _lab import REPO_ROOT, LabPage, LabServer, artifacts_dir
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

QUICKSTART = REPO_ROOT / "notebooks" / "01_quickstart.ipynb"
PROMPT = "A paper boat sails down a rainy street, close-up, soft rain sounds"
# The kernel's own sandbox (no key set) at its default speed; the client's first poll waits half
# the vendor estimate, so completion takes up to about a minute.
COMPLETED_TIMEOUT_S = 180


def test_quickstart_generates_and_plays(
    chromium: Browser, lab_servers: Callable[..., LabServer]
) -> None:
    # PYTHONPATH lets the kernel import this checkout even when it is not pip-installed.
    server = lab_servers(env={"PYTHONPATH": str(REPO_ROOT)})
    notebook = server.copy_in(QUICKSTART, "01_quickstart.ipynb")
    t0 = time.monotonic()
    with LabPage.new(chromium, server, width=1280, height=1500) as lab:
        try:
            _run(lab, notebook)
        except BaseException:
            lab.screenshot("panel-failure")
            print("browser console errors:\n" + "\n".join(lab.console_errors))
            raise
    print(f"quickstart: opened, generated and played in {time.monotonic() - t0:.1f} s")


def _run(lab: LabPage, notebook: str) -> None:
    lab.open_notebook(notebook)
    lab.run_all_cells(timeout=120)
    page = lab.page

    panel = lab.find(".omni-panel", timeout=60)
    assert "SANDBOX" in lab.find(".omni-panel .omni-sandbox-badge").inner_text()
    generate = lab.find(".omni-panel button.omni-generate")
    assert generate.is_disabled()
    assert "Prompt" in lab.find(".omni-panel .omni-reason").inner_text()

    # Type like a person: click into the prompt, type, then click Generate.
    lab.find(".omni-panel .omni-prompt-input textarea").click()
    page.keyboard.type(PROMPT, delay=5)
    page.wait_for_function("(el) => !el.disabled", arg=generate.element_handle(), timeout=15_000)
    generate.click()

    card = lab.find(".omni-panel .omni-card", timeout=30)
    status = card.locator(".omni-status")
    page.wait_for_function(
        "(el) => /Completed|Failed|Stopped/.test(el.innerText)",
        arg=status.element_handle(),
        timeout=COMPLETED_TIMEOUT_S * 1000,
        polling=250,
    )
    assert status.inner_text().strip() == "Completed", card.inner_text()
    assert "paper boat" in card.locator(".omni-prompt").inner_text()
    assert card.locator(".omni-task-id").inner_text().startswith("task-unified-")
    assert "omni_outputs/task-unified-" in card.locator(".omni-path").inner_text()

    selector = ".omni-card video.omni-video"
    state = lab.wait_for_video_ready(selector)
    assert state.error is None, state
    assert state.ready_state >= 2 and state.duration == pytest.approx(5.0, abs=0.3), state
    assert state.video_width > 0 and state.video_height > 0, state
    if lab.video_state(selector).paused:  # autoplay may be refused; press play as a person would
        assert lab.play_video(selector, muted=True) is None
    before = lab.video_state(selector).current_time
    page.wait_for_timeout(800)
    after = lab.video_state(selector)
    advanced = (after.current_time - before) % after.duration  # it loops
    assert not after.paused and advanced > 0.2, (before, after)
    assert after.decoded_video_bytes > 0

    # The panel and its card, as the README shows them.
    page.mouse.move(0, 0)
    panel.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot = artifacts_dir() / "panel.png"
    panel.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
