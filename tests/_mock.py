"""A scripted stand-in for the service on ``httpx.MockTransport``, for the client's unit tests."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from omni_widgets import AsyncOmniClient, OmniClient

BASE = "https://api.test"
KEY = "sk-test-SECRET-0123456789"
# A minimal well-formed MP4: ftyp, moov and mdat boxes that account for every byte.
MP4 = (
    b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    + b"\x00\x00\x00\x10moov"
    + b"\x00" * 8
    + b"\x00\x00\x00\xd0mdat"
    + b"\x00" * 200
)

Responder = Callable[[httpx.Request], httpx.Response]


def task_body(
    task_id: str = "task-unified-1-abc", status: str = "pending", progress: int = 0, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": task_id,
        "model": "gemini-omni-flash-text-to-video",
        "object": "video.generation.task",
        "status": status,
        "progress": progress,
        "created": 1757169743,
        "type": "video",
        "task_info": {"can_cancel": False},
    }
    body.update(extra)
    return body


def created(task_id: str = "task-unified-1-abc", estimated_time: int = 60) -> httpx.Response:
    return httpx.Response(
        200,
        json=task_body(
            task_id,
            task_info={"can_cancel": False, "estimated_time": estimated_time},
            usage={"billing_rule": "per_token", "credits_reserved": 12.5, "user_group": "default"},
        ),
    )


def completed(
    task_id: str = "task-unified-1-abc", url: str = "https://cdn.test/v.mp4"
) -> httpx.Response:
    return httpx.Response(200, json=task_body(task_id, "completed", 100, results=[url]))


def error(status: int, code: Any = "x", message: str = "boom", **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": message, "type": "t"}}, headers=headers
    )


@dataclass
class Script:
    """Answers each request with the next responder for its method; records what was sent."""

    posts: list[Responder | httpx.Response | Exception] = field(default_factory=list)
    gets: list[Responder | httpx.Response | Exception] = field(default_factory=list)
    downloads: list[Responder | httpx.Response | Exception] = field(default_factory=list)
    sent: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if request.url.host != "api.test":
            queue = self.downloads
        else:
            queue = self.posts if request.method == "POST" else self.gets
        if not queue:
            raise AssertionError(f"unexpected {request.method} {request.url}")
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        return step(request)

    def count(self, method: str, host: str = "api.test") -> int:
        return sum(1 for r in self.sent if r.method == method and r.url.host == host)

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.sent if r.method == "POST"]


class Clock:
    """A fake clock whose sleep only moves time on, and records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def client(script: Script, clock: Clock | None = None, **kwargs: Any) -> OmniClient:
    c = OmniClient(KEY, BASE, transport=httpx.MockTransport(script), **kwargs)
    clock = clock or Clock()
    c._clock = clock
    c._sleep = clock.sleep
    return c


def async_client(script: Script, clock: Clock | None = None, **kwargs: Any) -> AsyncOmniClient:
    c = AsyncOmniClient(KEY, BASE, transport=httpx.MockTransport(script), **kwargs)
    clock = clock or Clock()
    c._clock = clock
    c._sleep = clock.asleep
    return c


def png(width: int = 320, height: int = 240, fmt: str = "PNG") -> bytes:
    """A real image of the given size, made with Pillow."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()
