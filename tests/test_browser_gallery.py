"""The gallery as a person uses it in JupyterLab: two results made on the sandbox, the gallery
opened, both ticked, and the two compared videos playing side by side under one Play/Pause and
one seek bar. Posters and videos come through the server's /files/ route, not the comm.
The notebook sits in a folder of its own, so its ledger (``omni_outputs/`` beside it) holds
only this test's two results whichever browser tests ran before on the same Lab server.
Saves test-artifacts/gallery.png.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _lab import REPO_ROOT, LabPage, LabServer, write_notebook
from _omni_ui import failure_report
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

NOTEBOOK = "gallery/gallery.ipynb"
CELLS = [
    "from omni_widgets import OmniClient, TextToVideo\n"
    "from omni_widgets.notebook.connection import shared_sandbox\n"
    "sb = shared_sandbox()\n"
    "sb.speed = 1e6\n"
    "client = OmniClient(sb.api_key, sb.base_url, poll_interval=0.05)\n"
    "for prompt, seconds in [('a red kite', 3), ('a blue kite at dusk', 4)]:\n"
    "    client.generate(TextToVideo(prompt, duration=seconds))",
    "import omni_widgets\nomni_widgets.gallery()",
]

# Both players' state, read in the page.
_JS_PLAYERS = """() => [...document.querySelectorAll('.omni-g-player video')].map((v) => ({
  t: v.currentTime, paused: v.paused, ready: v.readyState, d: v.duration, src: v.currentSrc }))"""


def test_gallery_compares_two_results_playing_in_sync(
    chromium: Browser, lab_servers: Callable[..., LabServer]
) -> None:
    server = lab_servers(env={"PYTHONPATH": str(REPO_ROOT)})
    (server.root_dir / "gallery").mkdir(exist_ok=True)
    write_notebook(server.root_dir / NOTEBOOK, CELLS)
    with (
        LabPage.new(chromium, server, width=1280, height=1100) as lab,
        failure_report(lab, "gallery", scroll_to=".omni-g"),
    ):
        _run(lab)


def _run(lab: LabPage) -> None:
    page = lab.page
    lab.open_notebook(NOTEBOOK)
    lab.run_all_cells(timeout=180)
    lab.find(".omni-g-tile")
    page.wait_for_function(
        "() => document.querySelectorAll('.omni-g-tile img.omni-g-thumb').length === 2"
        " && [...document.querySelectorAll('.omni-g-tile img')].every((i) => i.naturalWidth > 0)",
        timeout=30_000,
    )
    posters = page.eval_on_selector_all(".omni-g-tile img", "(els) => els.map((e) => e.src)")
    assert all(
        "/files/gallery/omni_outputs/" in src and src.endswith(".poster.jpg") for src in posters
    )
    assert "2 result(s)" in lab.find(".omni-g-count").inner_text()

    # Tick both: two players, their settings diffed.
    for box in page.locator(".omni-g-pick").all():
        box.check()
    page.wait_for_function(
        "() => { const v = document.querySelectorAll('.omni-g-player video');"
        " return v.length === 2 && [...v].every((x) => x.readyState >= 2); }",
        timeout=30_000,
    )
    players = page.evaluate(_JS_PLAYERS)
    assert all("/files/gallery/omni_outputs/" in p["src"] for p in players), players
    assert sorted(round(p["d"]) for p in players) == [3, 4], players
    differs = page.eval_on_selector_all(
        ".omni-g-settings tr.differs th", "(els) => els.map((e) => e.innerText)"
    )
    assert set(differs) == {"prompt", "duration"}, differs

    # One Play drives both; both advance.
    lab.find(".omni-g-play").click()
    page.wait_for_function(
        f"() => ({_JS_PLAYERS})().every((p) => !p.paused && p.t > 0.5)", timeout=30_000
    )
    # One Pause stops both, at the same moment of their videos.
    lab.find(".omni-g-play").click()
    page.wait_for_function(f"() => ({_JS_PLAYERS})().every((p) => p.paused)", timeout=10_000)
    paused = page.evaluate(_JS_PLAYERS)
    assert abs(paused[0]["t"] - paused[1]["t"]) < 0.3, paused

    # One seek moves both to the same time (half of the first video).
    seek = lab.find(".omni-g-seek")
    seek.evaluate("(el) => { el.value = '500'; el.dispatchEvent(new Event('input')); }")
    page.wait_for_function(
        f"() => {{ const ps = ({_JS_PLAYERS})();"
        " return ps.every((p) => Math.abs(p.t - ps[0].d / 2) < 0.05); }",
        timeout=10_000,
    )
    page.mouse.move(0, 0)
    shot = lab.screenshot("gallery", scroll_to=".omni-g-compare")
    assert shot.stat().st_size > 20_000
