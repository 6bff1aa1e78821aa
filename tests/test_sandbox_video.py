"""The sandbox's result files: real H.264 + AAC MP4s of the requested shape, telling prompts apart,
served with the right headers, and expiring like signed URLs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from test_sandbox_support import (
    EDIT,
    I2V,
    INF,
    REF,
    T2V,
    api,
    body_for,
    data_url,
    dominant_hz,
    image,
    png,
    probe,
    raw,
    wait_terminal,
)

from omni_widgets.sandbox import Sandbox

pytestmark = pytest.mark.slow  # renders and decodes real MP4s


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(speed=INF, seed=11) as sandbox:
        yield sandbox


def _generate(sb: Sandbox, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """Create, poll to completion and download; return the final task body and the file."""
    with api(sb) as client, raw(sb) as files:
        created = client.post("/v1/videos/generations", json=body)
        assert created.status_code == 200, created.text
        done = wait_terminal(client, created.json()["id"])
        assert done["status"] == "completed", done
        (url,) = done["results"]
        assert url.startswith(sb.base_url + "/files/")
        download = files.get(url)
    assert download.status_code == 200
    assert download.headers["content-type"] == "video/mp4"
    assert int(download.headers["content-length"]) == len(download.content)
    return done, download.content


CASES = [
    pytest.param(body_for(T2V, duration=3, aspect_ratio="16:9"), 3, "landscape", id="t2v-3s-16:9"),
    pytest.param(
        body_for(T2V, duration=10, aspect_ratio="9:16"), 10, "portrait", id="t2v-10s-9:16"
    ),
    pytest.param(
        body_for(T2V, duration="auto", aspect_ratio="auto"), 6, "landscape", id="t2v-auto"
    ),
    pytest.param(body_for(T2V), 10, "landscape", id="t2v-defaults"),
    pytest.param(body_for(I2V, duration=4, aspect_ratio="9:16"), 4, "portrait", id="i2v-4s-9:16"),
    pytest.param(
        body_for(I2V, duration=5, aspect_ratio="auto", image_urls=[data_url(png(240, 400))]),
        5,
        "portrait",
        id="i2v-auto-follows-portrait-image",
    ),
    pytest.param(body_for(REF, duration=3), 3, "landscape", id="ref-2-images"),
    pytest.param(body_for(EDIT), 6, "landscape", id="edit"),
]


@pytest.mark.parametrize(("body", "seconds", "orientation"), CASES)
def test_every_model_renders_a_playable_clip_of_the_requested_shape(
    sb: Sandbox, body: dict[str, object], seconds: int, orientation: str
) -> None:
    _, data = _generate(sb, body)
    clip = probe(data)
    assert abs(clip.duration - seconds) <= 0.25
    assert (clip.width > clip.height) == (orientation == "landscape")
    assert clip.video_codec == "h264"
    assert clip.audio_codec == "aac"
    assert len(clip.audio) > 0.9 * seconds * 44100
    assert np.abs(clip.audio).max() > 0.05  # the tone is audible
    # Something moves: the first and middle frames differ.
    assert np.abs(clip.first_frame.astype(int) - clip.middle_frame.astype(int)).mean() > 0.5
    # faststart: the index (moov) precedes the media data (mdat).
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_different_prompts_look_and_sound_different(sb: Sandbox) -> None:
    _, first = _generate(sb, body_for(T2V, prompt="a lighthouse at dawn", duration=3))
    _, second = _generate(sb, body_for(T2V, prompt="a busy night market", duration=3))
    a, b = probe(first), probe(second)
    assert np.abs(a.middle_frame.astype(int) - b.middle_frame.astype(int)).mean() > 5
    assert abs(dominant_hz(a.audio) - dominant_hz(b.audio)) > 5


def test_image_modes_show_the_input_image(sb: Sandbox) -> None:
    green = image(320, 240, "JPEG", colour=(20, 200, 30))
    body = body_for(I2V, duration=3, image_urls=[data_url(green, "image/jpeg")])
    _, data = _generate(sb, body)
    frame = probe(data).first_frame
    # The picture fills the area between the header and the caption: mostly its green.
    red, green_channel, blue = frame[frame.shape[0] // 2].mean(axis=0)
    assert green_channel > 120 and green_channel > red + 60 and green_channel > blue + 60


def test_same_task_is_rendered_once_and_served_consistently(sb: Sandbox) -> None:
    done, data = _generate(sb, body_for(T2V, duration=3))
    with raw(sb) as files:
        again = files.get(done["results"][0])
        head = files.head(done["results"][0])
    assert again.content == data
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(data)
    assert head.content == b""


def test_files_are_missing_until_the_task_completes() -> None:
    with Sandbox(speed=1.0, seed=3) as slow, api(slow) as client, raw(slow) as files:
        task_id = client.post("/v1/videos/generations", json=body_for(T2V, duration=3)).json()["id"]
        task = slow._state.tasks.get(task_id)
        assert task is not None
        early = files.get(task.result_url)
        unknown = files.get("/files/task-unified-0-nosuchid.mp4")
    for response in (early, unknown):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/xml")
        assert "<Code>NoSuchKey</Code>" in response.text


def test_result_urls_expire_after_the_ttl_like_signed_urls() -> None:
    with Sandbox(speed=INF, ttl=0.6, seed=5) as short, api(short) as client, raw(short) as files:
        task_id = client.post("/v1/videos/generations", json=body_for(T2V, duration=3)).json()["id"]
        url = wait_terminal(client, task_id)["results"][0]
        fresh = files.get(url)
        time.sleep(0.7)
        stale = files.get(url)
        still_listed = client.get(f"/v1/tasks/{task_id}").json()
    assert fresh.status_code == 200
    assert stale.status_code == 403
    assert stale.headers["content-type"].startswith("application/xml")
    assert "<Code>AccessDenied</Code>" in stale.text
    assert "Request has expired" in stale.text
    assert still_listed["results"] == [url]


def test_render_time_and_size_of_a_ten_second_clip(sb: Sandbox) -> None:
    start = time.perf_counter()
    _, data = _generate(sb, body_for(T2V, prompt="benchmark clip", duration=10))
    elapsed = time.perf_counter() - start
    print(f"10 s 16:9 clip: {elapsed:.2f} s to complete and download, {len(data) / 1024:.0f} KiB")
    assert elapsed < 15
    assert 20_000 < len(data) < 2_000_000


def _frames(data: bytes) -> list[Any]:
    """Every decoded frame of an MP4, as rgb24 arrays."""
    import io

    import av

    with av.open(io.BytesIO(data), "r") as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def _closest(pixel: Any, colours: list[tuple[int, int, int]]) -> int | None:
    """Which colour `pixel` is (within a small tolerance), or None."""
    distances = [float(np.abs(np.asarray(c, dtype=float) - pixel).sum()) for c in colours]
    best = int(np.argmin(distances))
    return best if distances[best] < 90 else None


def test_reference_to_video_shows_every_image_in_turn_and_all_in_a_strip(sb: Sandbox) -> None:
    colours = [(220, 30, 30), (30, 200, 40), (40, 60, 220)]
    images = [data_url(image(400, 300, colour=colour)) for colour in colours]
    _, data = _generate(sb, body_for(REF, duration=3, aspect_ratio="16:9", image_urls=images))
    frames = _frames(data)
    height, width = frames[0].shape[:2]
    # A patch clear of the header, the ball's path, the prompt's box and the thumbnail strip.
    patch = (
        slice(int(height * 0.56), int(height * 0.66)),
        slice(int(width * 0.1), int(width * 0.4)),
    )
    shown = [_closest(np.median(frame[patch].reshape(-1, 3), axis=0), colours) for frame in frames]
    # Each image fills the frame for a third of the clip, in the order given.
    assert shown[: len(frames) // 3 - 1] == [0] * (len(frames) // 3 - 1)
    assert shown[len(frames) // 3 + 1 : 2 * len(frames) // 3 - 1] == [1] * (
        2 * len(frames) // 3 - 1 - (len(frames) // 3 + 1)
    )
    assert shown[2 * len(frames) // 3 + 1 :] == [2] * (len(frames) - 2 * len(frames) // 3 - 1)
    # The strip on the right edge shows all three at every moment: sample the first frame.
    strip = frames[0][:, width - 40 : width - 20]
    seen = {
        _closest(np.median(strip[row : row + 6].reshape(-1, 3), axis=0), colours)
        for row in range(40, height - 120, 6)
        if np.abs(strip[row : row + 6].reshape(-1, 3).std(axis=0)).max() < 25
    }
    assert seen - {None} == {0, 1, 2}


def test_one_reference_image_is_shown_without_a_strip(sb: Sandbox) -> None:
    colour = (30, 200, 40)
    body = body_for(REF, duration=3, image_urls=[data_url(image(400, 300, colour=colour))])
    _, data = _generate(sb, body)
    frame = probe(data).middle_frame
    height, width = frame.shape[:2]
    edge = np.median(frame[60 : height // 2, width - 40 : width - 20].reshape(-1, 3), axis=0)
    assert np.abs(edge - np.asarray(colour)).max() < 30
