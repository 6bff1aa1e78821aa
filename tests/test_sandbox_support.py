"""Helpers for the sandbox tests (no tests here): schema checks applied to every API answer,
request builders, MP4 probing with PyAV, and a tiny HTTP receiver for callbacks."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from _contract import EVOLINK

from omni_widgets.sandbox import Sandbox

T2V = "gemini-omni-flash-text-to-video"
I2V = "gemini-omni-flash-image-to-video"
REF = "gemini-omni-flash-reference-to-video"
EDIT = "gemini-omni-flash-video-edit"
MODELS = (T2V, I2V, REF, EDIT)
CREATE = "/v1/videos/generations"
INF = float("inf")


def documented_error(operation: str, status: int, model: str = "") -> dict[str, Any]:
    """The vendor's documented error body for `status` on `operation` ("create" or "query")."""
    return EVOLINK.documented_error(operation, status, model=model)


def check_response(response: httpx.Response) -> None:
    """Validate an API answer against the gateway's schemas (tests/schemas/evolink), plus the
    sandbox's own promises: JSON bodies, task errors typed `task_error`, http result URLs."""
    request = response.request
    operation = EVOLINK.operation_at(request.method, request.url.path)
    if operation is None:
        return
    response.read()
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    EVOLINK.response_validator(operation, response.status_code).validate(body)
    if operation == "query" and response.status_code == 200:
        if body["status"] == "failed":
            assert body["error"].get("type") == "task_error", body
        for url in body.get("results", []):
            assert httpx.URL(url).scheme == "http" and httpx.URL(url).host, url


def api(sb: Sandbox, key: str | None = "default") -> httpx.Client:
    """An httpx client for `sb` that schema-checks every API response it receives."""
    headers = {}
    if key is not None:
        headers["Authorization"] = f"Bearer {sb.api_key if key == 'default' else key}"
    return httpx.Client(
        base_url=sb.base_url,
        headers=headers,
        timeout=30,
        trust_env=False,
        event_hooks={"response": [check_response]},
    )


def raw(sb: Sandbox) -> httpx.Client:
    """An httpx client without schema checks, for garbled bodies and file downloads."""
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    return httpx.Client(base_url=sb.base_url, headers=headers, timeout=30, trust_env=False)


def body_for(
    model: str, prompt: str = "a red kite over green hills", **extra: Any
) -> dict[str, Any]:
    """A valid create body for `model`, with `extra` fields merged in."""
    body: dict[str, Any] = {"model": model, "prompt": prompt}
    if model == I2V:
        body["image_urls"] = [data_url(png(320, 240))]
    elif model == REF:
        body["image_urls"] = [data_url(png(320, 240)), base64.b64encode(png(300, 300)).decode()]
    elif model == EDIT:
        body["video_urls"] = ["https://example.com/source.mp4"]
    body.update(extra)
    return body


def image(
    width: int, height: int, fmt: str = "PNG", colour: tuple[int, int, int] = (200, 40, 90)
) -> bytes:
    """An encoded solid-colour image with a white bar, so it is recognisable in frames."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(picture).rectangle([0, 0, width // 2, height // 6], fill=(255, 255, 255))
    out = io.BytesIO()
    picture.save(out, fmt)
    return out.getvalue()


def png(width: int, height: int) -> bytes:
    """A PNG of the given size."""
    return image(width, height, "PNG")


def data_url(data: bytes, mime: str = "image/png") -> str:
    """`data:<mime>;base64,...`."""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def wait_terminal(client: httpx.Client, task_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """Poll until completed or failed; return the last body."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/v1/tasks/{task_id}").json()
        if body["status"] in ("completed", "failed"):
            return body
        assert time.monotonic() < deadline, f"task {task_id} still {body['status']}"
        time.sleep(0.02)


@dataclass
class Probe:
    """What PyAV reads from an MP4."""

    duration: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None
    fps: float
    middle_frame: Any  # numpy rgb24 array
    first_frame: Any
    audio: Any  # numpy float samples, mono mix


def probe(data: bytes) -> Probe:
    """Decode an MP4 fully: container duration, codecs, two frames and the audio samples."""
    import av
    import numpy as np

    with av.open(io.BytesIO(data), "r") as container:
        video = container.streams.video[0]
        audio_streams = container.streams.audio
        duration = float(container.duration or 0) / av.time_base
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    audio_codec = None
    samples = np.zeros(0)
    if audio_streams:
        with av.open(io.BytesIO(data), "r") as container:
            audio_codec = container.streams.audio[0].codec_context.name
            chunks = [frame.to_ndarray() for frame in container.decode(audio=0)]
            samples = np.concatenate([c.mean(axis=0) for c in chunks])
    return Probe(
        duration=duration,
        width=frames[0].shape[1],
        height=frames[0].shape[0],
        video_codec=video.codec_context.name,
        audio_codec=audio_codec,
        fps=float(video.average_rate or 0),
        middle_frame=frames[len(frames) // 2],
        first_frame=frames[0],
        audio=samples,
    )


def dominant_hz(samples: Any, rate: int = 44100) -> float:
    """The strongest frequency in a stretch of audio."""
    import numpy as np

    window = samples[rate // 2 : rate // 2 + rate]
    spectrum = np.abs(np.fft.rfft(window))
    return float(np.fft.rfftfreq(len(window), 1 / rate)[int(np.argmax(spectrum))])


@dataclass
class Receiver:
    """A local HTTP endpoint answering POSTs with scripted statuses (then 200), recording each."""

    statuses: list[int] = field(default_factory=list)
    hits: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # the Host header of each hit
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 15.0) -> None:
        """Block until `count` POSTs have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.hits) < count:
            assert time.monotonic() < deadline, f"only {len(self.hits)} of {count} callbacks came"
            time.sleep(0.02)


@contextmanager
def receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    """Run a Receiver inside a `with` block; it answers `statuses` in turn, then 200."""
    state = Receiver(statuses=list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            payload = json.loads(self.rfile.read(length))
            state.hosts.append(self.headers.get("host", ""))
            state.hits.append((time.monotonic(), self.path, payload))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None  # keep test output clean

    state.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=state.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.server.shutdown()
        state.server.server_close()
        thread.join(5)
