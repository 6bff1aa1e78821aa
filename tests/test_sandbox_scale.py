"""The sandbox at a notebook's scale: one render per core, a hundred tasks completing together all
downloaded within the client's timeout, and clips at the services' real resolutions on request."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_sandbox_support import T2V, api, body_for, probe, raw, wait_terminal

from omni_widgets import AsyncOmniClient, TextToVideo
from omni_widgets.core.download import saved_problem
from omni_widgets.sandbox import Sandbox, _files
from omni_widgets.sandbox._render import VideoSpec, render_mp4

pytestmark = pytest.mark.slow  # renders real MP4s

INF = float("inf")


def _download(sb: Sandbox, body: dict[str, Any]) -> bytes:
    with api(sb) as client, raw(sb) as files:
        created = client.post("/v1/videos/generations", json=body)
        assert created.status_code == 200, created.text
        done = wait_terminal(client, created.json()["id"])
        assert done["status"] == "completed", done
        answer = files.get(done["results"][0])
    assert answer.status_code == 200
    return answer.content


def test_renders_run_side_by_side_one_per_core(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    template = tmp_path / "template.mp4"
    render_mp4(VideoSpec(320, 180, 3, "template", "text-to-video"), template)
    lock = threading.Lock()
    running = peak = 0

    def slow_render(spec: VideoSpec, path: Path, cancel: threading.Event | None = None) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.3)  # long enough for every worker to have started one
        with lock:
            running -= 1
        shutil.copyfile(template, path)

    monkeypatch.setattr(_files, "render_mp4", slow_render)
    workers = max(1, os.cpu_count() or 1)
    count = workers + 2
    with Sandbox(speed=INF, seed=3) as sb, api(sb) as client:
        ids = [
            client.post("/v1/videos/generations", json=body_for(T2V, f"clip {i}")).json()["id"]
            for i in range(count)
        ]
        for task_id in ids:  # the first query sees each completed and queues its render
            assert wait_terminal(client, task_id)["status"] == "completed"
        for task_id in ids:
            url = client.get(f"/v1/tasks/{task_id}").json()["results"][0]
            with raw(sb) as files:
                assert files.get(url).content == template.read_bytes()
    assert peak == workers


def test_a_hundred_tasks_created_at_once_are_all_downloaded_within_the_client_timeout(
    tmp_path: Path,
) -> None:
    async def run(sb: Sandbox) -> list[tuple[str, Path]]:
        # The client's default timeout (30 s): a download waiting past it would raise.
        async with AsyncOmniClient(sb.api_key, sb.base_url) as client:
            tasks = await asyncio.gather(
                *(client.submit(TextToVideo(f"kite number {i}", duration=3)) for i in range(100))
            )
            done = await asyncio.gather(*(client.wait(task) for task in tasks))
            paths = await asyncio.gather(*(client.download(t, tmp_path) for t in done))
            return [(task.id, path) for task, path in zip(done, paths, strict=True)]

    with Sandbox(speed=INF, seed=5) as sb:
        saved = asyncio.run(run(sb))
    assert len({path for _, path in saved}) == 100
    assert all(saved_problem(task_id, path) is None for task_id, path in saved)


@pytest.mark.parametrize(
    ("resolution", "aspect_ratio", "size"),
    [
        ("720p", "16:9", (1280, 720)),
        ("720p", "9:16", (720, 1280)),
        ("1080p", "16:9", (1920, 1080)),
    ],
)
def test_renders_at_the_services_resolutions_when_asked(
    resolution: str, aspect_ratio: str, size: tuple[int, int]
) -> None:
    with Sandbox(speed=INF, seed=9, resolution=resolution) as sb:
        clip = probe(_download(sb, body_for(T2V, duration=3, aspect_ratio=aspect_ratio)))
    assert (clip.width, clip.height) == size


def test_the_default_size_stays_small_and_unknown_resolutions_are_refused() -> None:
    with Sandbox(speed=INF, seed=9) as sb:
        clip = probe(_download(sb, body_for(T2V, duration=3, aspect_ratio="16:9")))
    assert (clip.width, clip.height) == (640, 360)
    with pytest.raises(ValueError, match="resolution must be one of 360p, 720p, 1080p"):
        Sandbox(resolution="4k")
