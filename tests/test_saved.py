"""Saved notebooks keep their results: the static twin of cards and panels, and earlier videos.

The twin is a plain ``text/html`` output (see ``notebook/saved.py``): what a notebook opened
without a kernel, ``jupyter nbconvert`` and static viewers show. Unit tests build it from jobs
and folders; the kernel test runs ``%omni`` for real, applies the display updates the way a
front end does, saves the notebook and converts it to HTML.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from _kernel import Kernel
from nbconvert import HTMLExporter

from omni_widgets import Panel, TextToVideo
from omni_widgets.notebook import earlier
from omni_widgets.notebook.card import TaskCard
from omni_widgets.notebook.connection import Connection
from omni_widgets.notebook.jobs import Job
from omni_widgets.notebook.saved import read_folder
from omni_widgets.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=float("inf"), seed=11) as sb:
        yield sb


@pytest.fixture
def connection(sandbox: Sandbox) -> Connection:
    return Connection(sandbox.api_key, sandbox.base_url, True, "sandbox", 0.05)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_jobs(connection: Connection, dest: str, *requests: TextToVideo) -> list[Job]:
    """Run the requests one after the other on one event loop (the connection's client's)."""

    async def run() -> list[Job]:
        jobs = []
        for request in requests:
            job = Job(connection, request, dest=dest).start()
            assert job._future is not None
            await asyncio.wait_for(job._future, timeout=60)
            jobs.append(job)
        return jobs

    return asyncio.run(run())


def test_a_finished_card_leaves_the_video_by_relative_path_with_prompt_and_settings(
    connection: Connection, in_tmp: Path
) -> None:
    request = TextToVideo("a <red> kite", duration=4, aspect_ratio="9:16")
    [job] = run_jobs(connection, "out", request)
    card = TaskCard(job)
    static = card.static_html()
    assert f"<video src='out/{job.task_id}.mp4' controls" in static
    assert "a &lt;red&gt; kite" in static
    assert "duration 4 s" in static and "aspect ratio 9:16" in static
    assert f"task id {job.task_id}" in static
    assert "max-height:480px" in static  # a portrait video stays a sensible size
    [live_video] = [w for w in card._media.children if "omni-video" in w._dom_classes]
    assert live_video.layout.max_height == "480px" and live_video.layout.width == "auto"
    # While the card renders, its own style hides the twin; the twin hides the widget's error.
    assert f".jp-OutputArea-child:has(.{card.twin.uid})" in card.children[0].value
    assert f":has(+ .jp-OutputArea-child .{card.twin.uid})" in card.twin.bundle()["text/html"]


def test_a_new_panel_shows_the_earlier_videos_of_its_folder(
    connection: Connection, in_tmp: Path
) -> None:
    first, second = run_jobs(
        connection, "videos", TextToVideo("first kite", duration=3), TextToVideo("second kite")
    )
    (in_tmp / "videos" / "stray.mp4").write_bytes(b"no sidecar: not listed")
    assert [saved.task_id for saved in read_folder("videos")] == [second.task_id, first.task_id]

    panel = Panel(connection=connection, output_dir="videos")  # a re-run of the cell
    videos = [
        w.value
        for box in panel.earlier.children[1:]
        for w in box.children
        if "omni-earlier-video" in w._dom_classes
    ]
    assert videos == [second.path.read_bytes(), first.path.read_bytes()]  # type: ignore[union-attr]
    static = panel.static_html()
    assert static.index("second kite") < static.index("first kite")
    assert f"<video src='videos/{first.task_id}.mp4'" in static


def test_earlier_videos_past_the_byte_budget_load_on_a_click(
    connection: Connection, in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = run_jobs(
        connection, "videos", TextToVideo("first kite", duration=3), TextToVideo("second kite")
    )
    assert second.path is not None and first.path is not None
    monkeypatch.setattr(earlier, "EARLIER_BYTES", second.path.stat().st_size)
    panel = Panel(connection=connection, output_dir="videos")
    newest, older = panel.earlier.children[1:]
    assert "omni-earlier-video" in newest.children[1]._dom_classes
    [header, button] = older.children
    assert "first kite" in header.value and "omni-earlier-load" in button._dom_classes
    button.click()
    assert older.children[1].value == first.path.read_bytes()


@pytest.mark.kernel
def test_a_saved_magic_output_converts_to_html_with_the_video(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = {"OMNI_API_KEY": sandbox.api_key, "OMNI_BASE_URL": sandbox.base_url}
    with Kernel(env={**env, "PYTHONPATH": str(REPO)}, cwd=tmp_path) as kernel:
        kernel.execute("%load_ext omni_widgets")
        cell = kernel.execute("%omni a kite over the dunes --duration 3 -o t")
        kernel.execute("from omni_widgets.notebook.jobs import find_job")
        kernel.wait_until("find_job(t.id).done", timeout=60)
        task_id = kernel.value("t.id")
        late = kernel.late_outputs(cell.msg_id, wait=0.5)
    outputs = _as_front_end_keeps_them(cell.outputs + late)
    assert any(WIDGET in o.get("data", {}) for o in outputs)  # the live card is still there

    notebook = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("%omni a kite over the dunes --duration 3 -o t")
    code.outputs = [nbformat.from_dict(o) for o in outputs]
    notebook.cells.append(code)
    nbformat.validate(notebook)
    (tmp_path / "saved.ipynb").write_text(nbformat.writes(notebook), encoding="utf-8")

    body, _ = HTMLExporter().from_filename(str(tmp_path / "saved.ipynb"))
    assert re.search(f"<video[^>]* src=[\"']omni_outputs/{task_id}.mp4[\"']", body), body
    assert (tmp_path / "omni_outputs" / f"{task_id}.mp4").is_file()
    assert "a kite over the dunes" in body and "duration 3 s" in body
    assert "model not found" not in body


def _as_front_end_keeps_them(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Display messages as notebook outputs, with each display id's updates applied."""
    outputs: list[dict[str, Any]] = []
    by_id: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        display_id = message.get("transient", {}).get("display_id")
        if message["msg_type"] == "update_display_data":
            for output in by_id.get(display_id, []):
                output["data"] = message["data"]
        elif message["msg_type"] == "display_data":
            output = {"output_type": "display_data", "data": message["data"], "metadata": {}}
            outputs.append(output)
            if display_id is not None:
                by_id.setdefault(display_id, []).append(output)
    return json.loads(json.dumps(outputs))
