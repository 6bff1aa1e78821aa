"""The client against the sandbox in each gateway's dialect, over real HTTP.

Needs ``Sandbox(gateway=...)`` (the sandbox's ToAPIs dialect, branch gwsb): run after merging it.
Every test is parametrized over both gateways, so one rule is checked once for each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omni_widgets import (
    ImageToVideo,
    OmniClient,
    OutcomeUnknownError,
    ReferenceToVideo,
    Request,
    TaskFailedError,
    TextToVideo,
    ValidationError,
    VideoEdit,
    get_gateway,
)
from omni_widgets.core.mp4 import verify_mp4
from omni_widgets.sandbox import Sandbox

FAST = 1e6
NAMES = ["evolink", "toapis"]
URLS = [f"https://example.com/ref{i}.png" for i in range(3)]


GATEWAY_OF: dict[int, str] = {}


@pytest.fixture(scope="module", params=NAMES)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    dialect: dict[str, Any] = {"gateway": request.param}
    with Sandbox(speed=FAST, seed=7, **dialect) as sb:
        GATEWAY_OF[id(sb)] = request.param
        yield sb


@pytest.fixture()
def sb(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.faults.clear()
    sandbox.reset_log()
    yield sandbox
    sandbox.faults.clear()


def gateway_of(sb: Sandbox) -> str:
    return GATEWAY_OF[id(sb)]


def make_client(sb: Sandbox, **kwargs: Any) -> OmniClient:
    client = OmniClient(sb.api_key, sb.base_url, gateway=gateway_of(sb), **kwargs)
    client._sleep = lambda seconds: None
    return client


def posts(sb: Sandbox) -> int:
    return sum(1 for r in sb.requests if r.method == "POST" and r.path.endswith("/generations"))


REQUESTS = [
    TextToVideo("a red kite over the sea", duration=6),
    TextToVideo("a lighthouse at night", duration=10, aspect_ratio="9:16"),
    ImageToVideo("the car drives off", URLS[0], duration=6),
    ReferenceToVideo("three friends wave", URLS, duration=6),
    VideoEdit("make it snow", "https://example.com/source.mp4"),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=["t2v", "t2v-portrait", "i2v", "ref", "edit"])
def test_each_mode_gives_a_playable_video_on_each_gateway(
    sb: Sandbox, tmp_path: Path, request_: Request
) -> None:
    client = make_client(sb, ledger=tmp_path / "ledger.sqlite3")
    result = client.generate(request_, dest=tmp_path)
    assert verify_mp4(result.path) is None
    gateway = get_gateway(gateway_of(sb))
    paths = {r.path for r in sb.requests if r.method == "POST"}
    assert paths == {gateway.create_path}
    assert sb.created_task_ids == [result.task.id]
    assert gateway.task_id.fullmatch(result.task.id)
    (record,) = client.history()
    assert record.gateway == gateway.name and record.status == "saved"
    sidecar = json.loads(result.path.with_suffix(".json").read_text())
    assert sidecar["task_id"] == result.task.id


def test_a_completed_toapis_task_carries_its_expiry(sb: Sandbox, tmp_path: Path) -> None:
    client = make_client(sb)
    task = client.wait(client.submit(TextToVideo("a kite", duration=6)))
    if gateway_of(sb) == "toapis":
        assert task.expires_at is not None and task.url_expires_at == task.expires_at
    else:
        assert task.expires_at is None and task.url_expires_at is not None


def test_limits_refuse_before_anything_reaches_the_sandbox(sb: Sandbox) -> None:
    bad = {"evolink": TextToVideo("x", resolution="720P"), "toapis": TextToVideo("x", duration=5)}
    with pytest.raises(ValidationError, match=f"on {gateway_of(sb)}"):
        make_client(sb).submit(bad[gateway_of(sb)])
    assert sb.requests == []


def test_a_content_policy_failure_carries_its_code(sb: Sandbox) -> None:
    client = make_client(sb)
    task = client.submit(TextToVideo("a cat [[fail:content_policy_violation]]", duration=6))
    with pytest.raises(TaskFailedError, match=task.id) as exc:
        client.wait(task)
    assert exc.value.task.error is not None


def test_rate_limited_creates_are_retried_and_create_once(sb: Sandbox) -> None:
    sb.faults.rate_limit(on="create", count=2, retry_after=1)
    task = make_client(sb).submit(TextToVideo("x", duration=6))
    assert posts(sb) == 3 and sb.created_task_ids == [task.id]


def test_a_server_error_on_create_is_never_resent(sb: Sandbox) -> None:
    sb.faults.server_error(on="create", count=3)
    with pytest.raises(OutcomeUnknownError):
        make_client(sb).submit(TextToVideo("x", duration=6))
    assert posts(sb) == 1
