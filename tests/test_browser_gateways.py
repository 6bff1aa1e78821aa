"""The panel switched to the second gateway as a person does it in JupyterLab, with no API key:
the gateway picker set to ToAPIs, the fields follow its limits (a resolution field appears, the
durations become 6 and 10 s), a prompt is typed, Generate clicked, and the card completes on the
sandbox's ToAPIs dialect (its `video_` ids) and its video really plays. Saves
test-artifacts/panel-toapis.png."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _lab import REPO_ROOT, LabPage, LabServer, write_notebook
from _omni_ui import (
    COMPLETED_TIMEOUT_S,
    assert_video_plays,
    failure_report,
    generate_from_panel,
    wait_until_completed,
)
from playwright.sync_api import Browser

from omni_widgets.sandbox._dialect_toapis import ID_PREFIX

pytestmark = pytest.mark.browser

PROMPT = "A lighthouse beam sweeps over a stormy sea at night, waves crashing"

# No key and no sandbox started by hand: switching the picker makes the panel start (or find) the
# shared sandbox in the ToAPIs dialect by itself.
CELLS = ["import omni_widgets as omni\npanel = omni.panel()\npanel"]

# The visible options of the panel's duration and resolution dropdowns, read in the page.
_JS_OPTIONS = """(sel) => {
  const row = document.querySelector(sel);
  if (!row || getComputedStyle(row).display === 'none') return null;
  const options = [...row.querySelectorAll('select option')];
  return options.map((o) => o.textContent.replace(/\\s+/g, ' ').trim());
}"""


def test_panel_switched_to_toapis_generates_and_plays(
    chromium: Browser, lab_servers: Callable[..., LabServer]
) -> None:
    server = lab_servers(env={"PYTHONPATH": str(REPO_ROOT)})
    write_notebook(server.root_dir / "gateways.ipynb", CELLS)
    with (
        LabPage.new(chromium, server, width=1280, height=1500) as lab,
        failure_report(lab, "panel-toapis", scroll_to=".omni-panel"),
    ):
        _run(lab)


def _run(lab: LabPage) -> None:
    page = lab.page
    lab.open_notebook("gateways.ipynb")
    lab.run_all_cells(timeout=120)
    panel = lab.find(".omni-panel", timeout=60)
    assert "SANDBOX" in lab.find(".omni-panel .omni-sandbox-badge").inner_text()

    # EvoLink first: no resolution field, its own durations.
    picker = lab.find(".omni-panel .omni-gateway-picker select")
    assert picker.input_value() == "EvoLink"  # ipywidgets option values are labels
    assert page.evaluate(_JS_OPTIONS, ".omni-panel .omni-field-resolution") is None
    evolink_durations = page.evaluate(_JS_OPTIONS, ".omni-panel .omni-field-duration")
    assert evolink_durations and {"auto (the model decides)", "3 s", "5 s"} <= set(
        evolink_durations
    ), evolink_durations

    picker.select_option(label="ToAPIs")
    page.wait_for_function(
        f"() => ({_JS_OPTIONS})('.omni-panel .omni-field-resolution') !== null", timeout=30_000
    )
    assert page.evaluate(_JS_OPTIONS, ".omni-panel .omni-field-duration") == ["6 s", "10 s"]
    assert page.evaluate(_JS_OPTIONS, ".omni-panel .omni-field-resolution") == ["720P", "1080p"]
    assert "ToAPIs" in lab.find(".omni-panel .omni-field-duration").inner_text()
    page.wait_for_function(
        "() => document.querySelector('.omni-panel .omni-service').innerText"
        ".includes('paste a ToAPIs key below or set OMNI_API_KEY or TOAPIS_API_KEY')",
        timeout=10_000,
    )

    card = generate_from_panel(lab, PROMPT)
    wait_until_completed(lab, card, COMPLETED_TIMEOUT_S, id_prefix=ID_PREFIX)
    assert "lighthouse" in card.locator(".omni-prompt").inner_text()
    assert "ToAPIs" in card.locator(".omni-gateway").inner_text()
    assert "omni_outputs/" + ID_PREFIX in card.locator(".omni-path").inner_text()
    assert_video_plays(lab, 6.0)

    page.mouse.move(0, 0)
    panel.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot = lab.screenshot("panel-toapis", scroll_to=".omni-panel")
    assert shot.stat().st_size > 20_000
