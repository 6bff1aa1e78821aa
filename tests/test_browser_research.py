"""Issue 11's research loop end to end in one JupyterLab notebook, with no API key: a 4-variant
``%%omni grid`` (two prompts by two aspect ratios) fills in, the gallery opened below it lists
the four results, and two of them (one prompt at 16:9 and at 9:16) are compared playing side by
side under one Play, with only their aspect ratio marked as differing. The notebook sits in a
folder of its own so its ledger (``omni_outputs/`` beside it) holds this test's tasks only.
Saves test-artifacts/research.png."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _lab import REPO_ROOT, LabPage, LabServer, write_notebook
from _omni_ui import failure_report
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

NOTEBOOK = "research/research.ipynb"
CELLS = [
    "from omni_widgets.notebook.connection import shared_sandbox\n"
    "shared_sandbox().speed = float('inf')",
    "%load_ext omni_widgets",
    "%%omni grid --duration 3 --aspect 16:9 9:16 -o g\na red kite over the sea\na paper boat",
    # Awaiting on the kernel's loop lets the grid finish before the gallery reads the ledger.
    "outcomes = await g.wait()\nlen(outcomes)",
    "%omni gallery",
]

_JS_PLAYERS = """() => [...document.querySelectorAll('.omni-g-player video')].map((v) => ({
  t: v.currentTime, paused: v.paused, ready: v.readyState, d: v.duration,
  w: v.videoWidth, h: v.videoHeight, src: v.currentSrc }))"""


def test_grid_then_gallery_compares_two_variants_playing(
    chromium: Browser, lab_servers: Callable[..., LabServer]
) -> None:
    server = lab_servers(env={"PYTHONPATH": str(REPO_ROOT)})
    (server.root_dir / "research").mkdir(exist_ok=True)
    write_notebook(server.root_dir / NOTEBOOK, CELLS)
    with (
        LabPage.new(chromium, server, width=1280, height=1400) as lab,
        failure_report(lab, "research", scroll_to=".omni-g"),
    ):
        _run(lab)


def _run(lab: LabPage) -> None:
    page = lab.page
    lab.open_notebook(NOTEBOOK)
    lab.run_all_cells(timeout=180)

    grid = lab.find(".omni-grid", timeout=60)
    page.wait_for_function(
        "() => (document.querySelector('.omni-grid')?.innerText || '').includes('4/4 done')",
        timeout=60_000,
    )
    assert "0 failed" in grid.inner_text(), grid.inner_text()

    # The gallery lists the grid's four results, each with a poster served by Jupyter.
    page.wait_for_function(
        "() => document.querySelectorAll('.omni-g-tile img.omni-g-thumb').length === 4"
        " && [...document.querySelectorAll('.omni-g-tile img')].every((i) => i.naturalWidth > 0)",
        timeout=30_000,
    )
    assert "4 result(s)" in lab.find(".omni-g-count").inner_text()
    boats = page.locator(".omni-g-tile").filter(has_text="a paper boat")
    assert boats.count() == 2

    # Tick the two variants of one prompt: two players, only the aspect ratio differs.
    for tile in boats.all():
        tile.locator(".omni-g-pick").check()
    page.wait_for_function(
        "() => { const v = document.querySelectorAll('.omni-g-player video');"
        " return v.length === 2 && [...v].every((x) => x.readyState >= 2); }",
        timeout=30_000,
    )
    players = page.evaluate(_JS_PLAYERS)
    assert all("/files/research/omni_outputs/" in p["src"] for p in players), players
    assert [round(p["d"]) for p in players] == [3, 3], players
    shapes = sorted("wide" if p["w"] > p["h"] else "tall" for p in players)
    assert shapes == ["tall", "wide"], players
    differs = page.eval_on_selector_all(
        ".omni-g-settings tr.differs th", "(els) => els.map((e) => e.innerText)"
    )
    assert differs == ["aspect_ratio"], differs

    # One Play drives both side by side; both advance.
    lab.find(".omni-g-play").click()
    page.wait_for_function(
        f"() => ({_JS_PLAYERS})().every((p) => !p.paused && p.t > 0.5)", timeout=30_000
    )
    boxes = [page.locator(".omni-g-player").nth(i).bounding_box() for i in range(2)]
    assert boxes[0] and boxes[1] and boxes[1]["x"] >= boxes[0]["x"] + boxes[0]["width"], boxes
    page.mouse.move(0, 0)
    shot = lab.screenshot("research", scroll_to=".omni-g-compare")
    assert shot.stat().st_size > 20_000
    lab.find(".omni-g-play").click()
    page.wait_for_function(f"() => ({_JS_PLAYERS})().every((p) => p.paused)", timeout=10_000)
