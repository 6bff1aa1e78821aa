"""What the browser tests do and check on omni-widgets' own UI, written once for every front end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from _lab import REPO_ROOT, LabPage
from playwright.sync_api import Locator

from omni_widgets.core.defaults import DEFAULT_DURATION

VIDEO = ".omni-card video.omni-video"
QUICKSTART_NAME = "01_quickstart.ipynb"
QUICKSTART = REPO_ROOT / "notebooks" / QUICKSTART_NAME
PANEL_DURATION_S = float(DEFAULT_DURATION)  # the default of the panel, magics and client
# The kernel's own sandbox finishes a clip in seconds; this bound only keeps a broken run from
# hanging.
COMPLETED_TIMEOUT_S = 180


@contextmanager
def failure_report(lab: LabPage, name: str, scroll_to: str | None = None) -> Iterator[None]:
    """On failure, save a screenshot and print the browser console's errors, then re-raise."""
    try:
        yield
    except BaseException:
        lab.screenshot(f"{name}-failure", scroll_to=scroll_to)
        print("browser console errors:\n" + "\n".join(lab.console_errors))
        raise


def generate_from_panel(lab: LabPage, prompt: str) -> Locator:
    """Type a prompt into the panel as a person would, click Generate, and return the new card."""
    generate = lab.find(".omni-panel button.omni-generate")
    assert generate.inner_text().strip() == "Generate"
    assert generate.is_disabled()
    lab.find(".omni-panel .omni-prompt-input textarea").click()
    lab.page.keyboard.type(prompt, delay=5)
    lab.page.wait_for_function(
        "(el) => !el.disabled", arg=generate.element_handle(), timeout=15_000
    )
    generate.click()
    return lab.find(".omni-panel .omni-card", timeout=30)


def wait_until_completed(
    lab: LabPage, card: Locator, timeout_s: float, id_prefix: str = "task-unified-"
) -> None:
    """Wait for the card's status to end, and require that it ended as Completed with a task id
    of the gateway's form (``id_prefix``: EvoLink's by default)."""
    status = card.locator(".omni-status")
    lab.page.wait_for_function(
        "(el) => /Completed|Failed|Stopped/.test(el.innerText)",
        arg=status.element_handle(),
        timeout=timeout_s * 1000,
        polling=250,
    )
    assert status.inner_text().strip() == "Completed", card.inner_text()
    assert card.locator(".omni-task-id").inner_text().startswith(id_prefix)


def assert_video_plays(lab: LabPage, duration_s: float, selector: str = VIDEO) -> None:
    """A decoded frame of the expected length, and time moving after a muted play()."""
    state = lab.wait_for_video_ready(selector)
    assert state.error is None, state
    assert state.ready_state >= 2, state
    assert state.duration == pytest.approx(duration_s, abs=0.3), state
    assert state.video_width > 0 and state.video_height > 0, state
    refused, before, after = lab.watch_playback(selector)
    assert refused is None, refused
    advanced = (after.current_time - before.current_time) % after.duration  # it loops
    assert not after.paused and advanced > 0.2, (before, after)
    assert after.decoded_video_bytes > 0, after
