"""The client end to end over real HTTP against the sandbox: all four models, and every fault."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from _mock import png

from omni_widgets import (
    AsyncOmniClient,
    AuthenticationError,
    DownloadError,
    ImageToVideo,
    InsufficientQuotaError,
    OmniClient,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ReferenceToVideo,
    Request,
    TaskFailedError,
    TextToVideo,
    URLExpiredError,
    ValidationError,
    VideoEdit,
)
from omni_widgets.core.mp4 import verify_mp4
from omni_widgets.sandbox import Sandbox

FAST = 1e6


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=FAST, seed=7) as sb:
        yield sb


@pytest.fixture()
def sb(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox with a clean log and no faults left over from another test."""
    sandbox.faults.clear()
    sandbox.reset_log()
    yield sandbox
    sandbox.faults.clear()


def make_client(sb: Sandbox, key: str | None = None, **kwargs: Any) -> OmniClient:
    client = OmniClient(key or sb.api_key, sb.base_url, **kwargs)
    client._sleep = lambda seconds: None  # retries and polls need no real waiting here
    return client


def probe(path: Path) -> tuple[float, int, int, set[str]]:
    """Duration, width, height and the stream kinds of an MP4, decoded with PyAV."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        kinds = {s.type for s in container.streams}
        assert container.duration is not None
        return container.duration / 1e6, video.width, video.height, kinds


def posts(sb: Sandbox) -> int:
    return sum(1 for r in sb.requests if r.method == "POST" and r.path.endswith("/generations"))


IMAGE = png(480, 320)


@pytest.mark.parametrize(
    "request_,seconds,landscape",
    [
        (TextToVideo("a red kite over the sea", duration=4), 4, True),
        (TextToVideo("a lighthouse at night", duration=3, aspect_ratio="9:16"), 3, False),
        (ImageToVideo("the car drives off", IMAGE, duration=5), 5, True),
        (
            ReferenceToVideo("two friends wave", [IMAGE, IMAGE], duration=6, aspect_ratio="9:16"),
            6,
            False,
        ),
        (VideoEdit("make it snow", "https://example.com/source.mp4"), None, None),
    ],
    ids=["t2v", "t2v-portrait", "i2v", "ref", "edit"],
)
def test_every_model_generates_a_playable_video(
    sb: Sandbox, tmp_path: Path, request_: Request, seconds: int | None, landscape: bool | None
) -> None:
    result = make_client(sb).generate(request_, dest=tmp_path)
    duration, width, height, kinds = probe(result.path)
    assert kinds == {"video", "audio"}
    if seconds is not None:
        assert abs(duration - seconds) <= 0.25
        assert (width > height) is landscape
    else:
        assert 3 <= duration <= 10
    sidecar = json.loads(result.path.with_suffix(".json").read_text())
    assert sidecar["task_id"] == result.task.id and sidecar["model"] == request_.model
    assert "base64" not in json.dumps(sidecar)
    assert sb.created_task_ids == [result.task.id]


def test_async_client_watches_progress_rise(tmp_path: Path) -> None:
    async def main(sb: Sandbox) -> tuple[list[tuple[str, int]], Path]:
        async with AsyncOmniClient(sb.api_key, sb.base_url, poll_interval=1) as client:
            client._sleep = lambda s: asyncio.sleep(min(s, 0.3))
            task = await client.submit(TextToVideo("a slow sunrise", duration=3))
            seen = [(t.status, t.progress) async for t in client.watch(task)]
            return seen, await client.download(
                task if seen[-1][0] != "completed" else client.tasks[0], tmp_path
            )

    with Sandbox(speed=40, seed=1) as slow:
        seen, path = asyncio.run(main(slow))
    assert seen[-1] == ("completed", 100)
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and len(seen) >= 2
    assert path.is_file()


@pytest.mark.parametrize(
    "key,cls",
    [
        ("sk-sandbox-401", AuthenticationError),
        ("sk-sandbox-402", InsufficientQuotaError),
        ("sk-sandbox-403", PermissionDeniedError),
    ],
)
def test_special_keys_map_to_errors_with_one_request(sb: Sandbox, key: str, cls: type) -> None:
    with pytest.raises(cls):
        make_client(sb, key).submit(TextToVideo("x"))
    assert posts(sb) == 1 and sb.created_task_ids == []


def test_rate_limited_creates_are_retried_and_create_once(sb: Sandbox) -> None:
    sb.faults.rate_limit(on="create", count=2, retry_after=1)
    notices: list[Any] = []
    task = make_client(sb).submit(TextToVideo("x"), on_update=notices.append)
    assert posts(sb) == 3 and sb.created_task_ids == [task.id]
    assert [n.attempt for n in notices] == [2, 3] and notices[0].delay == 1


def test_a_server_error_on_create_is_one_post_and_unknown_outcome(sb: Sandbox) -> None:
    sb.faults.server_error(on="create", count=3)
    with pytest.raises(OutcomeUnknownError, match="HTTP 500") as exc:
        make_client(sb).submit(TextToVideo("x"))
    assert posts(sb) == 1 and sb.created_task_ids == [] and exc.value.task_id is None


def test_a_server_error_after_creating_names_the_task_and_is_never_resent(
    sb: Sandbox, tmp_path: Path
) -> None:
    sb.faults.server_error(on="create", count=1, after=True)
    client = make_client(sb)
    with pytest.raises(OutcomeUnknownError, match="may exist and may be billed") as exc:
        client.submit(TextToVideo("x", duration=3))
    assert posts(sb) == 1 and sb.created_task_ids == [exc.value.task_id]
    assert f"task {exc.value.task_id}" in str(exc.value)
    task = client.wait(exc.value.task_id or "")
    assert client.download(task, tmp_path).is_file() and posts(sb) == 1


def test_hostile_id_sends_nothing(sb: Sandbox) -> None:
    with pytest.raises(
        ValidationError, match=re.escape("task_id: '../../_sandbox/log' is not a task id")
    ):
        make_client(sb).get("../../_sandbox/log")
    assert sb.requests == []


@pytest.mark.parametrize(
    "spoil",
    [
        lambda sb: sb.faults.truncate(count=2),
        lambda sb: sb.faults.truncate(count=2, content_length=False),
        lambda sb: sb.faults.html(count=2),
        lambda sb: sb.faults.malformed(on="download", count=2),
    ],
    ids=["truncated", "truncated-no-length", "html", "malformed"],
)
def test_spoilt_downloads_are_retried_until_whole(sb: Sandbox, tmp_path: Path, spoil: Any) -> None:
    fault = spoil(sb)
    result = make_client(sb).generate(TextToVideo("x", duration=3), dest=tmp_path)
    assert fault.fired == 2 and verify_mp4(result.path) is None
    assert probe(result.path)[0] == pytest.approx(3, abs=0.1)
    downloads = [r.status for r in sb.requests if r.path.startswith("/files/")]
    assert downloads == [200, 200, 200]


def test_persistently_spoilt_download_fails_naming_the_task(sb: Sandbox, tmp_path: Path) -> None:
    sb.faults.truncate(content_length=False)
    client = make_client(sb)
    with pytest.raises(DownloadError, match="cut short") as exc:
        client.generate(TextToVideo("x", duration=3), dest=tmp_path)
    assert sb.created_task_ids[0] in str(exc.value)
    assert list(tmp_path.iterdir()) == []


def test_dropped_create_after_processing_is_never_sent_twice(sb: Sandbox) -> None:
    sb.faults.drop(on="create", count=1, after=True)
    with pytest.raises(OutcomeUnknownError, match="not sent again"):
        make_client(sb).submit(TextToVideo("x"))
    assert posts(sb) == 1 and len(sb.created_task_ids) == 1


def test_malformed_create_answer_is_an_unknown_outcome(sb: Sandbox) -> None:
    sb.faults.malformed(on="create", count=1)
    with pytest.raises(OutcomeUnknownError):
        make_client(sb).submit(TextToVideo("x"))
    assert posts(sb) == 1


def test_query_faults_never_end_the_wait(sb: Sandbox, tmp_path: Path) -> None:
    sb.faults.server_error(on="query", count=2)
    sb.faults.drop(on="query", count=1)
    sb.faults.malformed(on="query", count=1)
    sb.faults.rate_limit(on="query", count=1)
    result = make_client(sb).generate(TextToVideo("x", duration=3), dest=tmp_path)
    assert result.task.status == "completed" and sb.created_task_ids == [result.task.id]
    statuses = [r.status for r in sb.requests if r.path.startswith("/v1/tasks/")]
    assert statuses[-1] == 200 and {500, 429} <= set(statuses)


def test_persistent_rate_limit_gives_up_after_max_retries(sb: Sandbox) -> None:
    sb.faults.rate_limit(on="create")
    with pytest.raises(RateLimitError):
        make_client(sb, max_retries=2).submit(TextToVideo("x"))
    assert posts(sb) == 3 and sb.created_task_ids == []


def test_scripted_business_failure_carries_code_and_advice(sb: Sandbox) -> None:
    client = make_client(sb)
    task = client.submit(TextToVideo("a cat [[fail:content_policy_violation]]"))
    with pytest.raises(TaskFailedError) as exc:
        client.wait(task)
    assert exc.value.code == "content_policy_violation" and task.id in str(exc.value)
    assert "resubmit" in exc.value.advice


def test_expired_url_is_reported_with_the_task(sb: Sandbox, tmp_path: Path) -> None:
    client = make_client(sb)
    task = client.wait(client.submit(TextToVideo("x", duration=3)))
    old_ttl = sb.ttl
    sb.ttl = 0.001
    try:
        asyncio.run(asyncio.sleep(0.05))
        with pytest.raises(URLExpiredError, match=task.id):
            client.download(task, tmp_path)
    finally:
        sb.ttl = old_ttl
    assert not list(tmp_path.glob("*.mp4"))


def test_server_side_validation_is_independent(sb: Sandbox) -> None:
    """A request that slipped past the client's checks is still refused by the sandbox."""
    import httpx

    body = {"model": "gemini-omni-flash-text-to-video", "prompt": "x", "duration": 11}
    answer = httpx.post(
        f"{sb.base_url}/v1/videos/generations",
        json=body,
        headers={"Authorization": f"Bearer {sb.api_key}"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"
    assert sb.created_task_ids == []
