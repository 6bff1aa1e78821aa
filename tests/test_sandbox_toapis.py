"""The sandbox in ToAPIs' dialect (`Sandbox(gateway="toapis")`): every answer fits the project's
ToAPIs schemas (tests/schemas/toapis), every create it accepts fits the request schema of its model,
and every create it refuses is refused by that schema too; statuses, ids, times, 422 refusals,
scripted failures, faults, the guard, records, the CLI flag and the shared process per gateway."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _contract import gateway
from _tiers import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sandbox_support import INF, probe

from omni_widgets.sandbox import Sandbox, find_shared, start_shared, stop_shared
from omni_widgets.sandbox._dialect_toapis import TASKS
from omni_widgets.sandbox._dialect_toapis import TOAPIS as DIALECT
from omni_widgets.sandbox._shared import discovery_file, read_discovery

TOAPIS = gateway("toapis")
CREATE = "/v1/videos/generations"
FLASH = "gemini_omni_flash"
OFFICIAL = "gemini-omni-flash-preview-official"
ID = re.compile(r"video_[0-9A-HJKMNP-TV-Z]{26}")
IMAGE = "https://example.com/still.png"
VIDEO = "https://example.com/source.mp4"
ROOT = Path(__file__).resolve().parents[1]


def check(response: httpx.Response) -> None:
    """Validate an API answer against the ToAPIs schemas, and an accepted create's body against
    the request schema of its model."""
    request = response.request
    operation = TOAPIS.operation_at(request.method, request.url.path)
    if operation is None:
        return
    response.read()
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    TOAPIS.response_validator(operation, response.status_code).validate(body)
    if operation == "create" and response.status_code == 200:
        sent = httpx.Response(200, content=request.content).json()
        TOAPIS.request_validator(sent["model"]).validate(sent)


def api(sb: Sandbox, key: str | None = "default") -> httpx.Client:
    """A client for `sb` that schema-checks every answer."""
    headers = (
        {}
        if key is None
        else {"Authorization": f"Bearer {sb.api_key if key == 'default' else key}"}
    )
    return httpx.Client(
        base_url=sb.base_url,
        headers=headers,
        timeout=30,
        trust_env=False,
        event_hooks={"response": [check]},
    )


def raw(sb: Sandbox) -> httpx.Client:
    """A client without checks, for garbled answers and files."""
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    return httpx.Client(base_url=sb.base_url, headers=headers, timeout=30, trust_env=False)


def body(
    model: str = FLASH, prompt: str = "a red kite over green hills", **extra: Any
) -> dict[str, Any]:
    return {"model": model, "prompt": prompt, **extra}


def documented(operation: str, status: int) -> dict[str, Any]:
    """The documented code (and type, where documented) for `status` on `operation`."""
    error: dict[str, Any] = TOAPIS.operation(operation)["errors"][str(status)]["error"]
    return error


def matches_documented(answer: httpx.Response, operation: str, status: int) -> bool:
    error = answer.json()["error"]
    return answer.status_code == status and all(
        error.get(name) == value for name, value in documented(operation, status).items()
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(gateway="toapis", speed=INF, seed=5) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.faults.clear()
    sandbox.reset_log()
    yield sandbox
    sandbox.faults.clear()


def test_gateway_is_chosen_per_sandbox() -> None:
    assert Sandbox().gateway == "evolink"
    assert Sandbox(gateway="ToAPIs").gateway == "toapis"
    with pytest.raises(ValueError, match="gateway must be one of evolink, toapis"):
        Sandbox(gateway="replicate")


ACCEPTED = [
    pytest.param(body(), "text-to-video", id="flash-text"),
    pytest.param(body("gemini-omni-flash", duration=10), "text-to-video", id="alias-10s"),
    pytest.param(body(image_urls=[IMAGE]), "image-to-video", id="flash-one-image"),
    pytest.param(body(image_urls=[IMAGE] * 3), "reference-to-video", id="flash-three-images"),
    pytest.param(body(resolution="1080p", aspect_ratio="16:9"), "text-to-video", id="1080p"),
    pytest.param(body("gemini_omni", aspect_ratio="9:16"), "text-to-video", id="omni-portrait"),
    pytest.param(body(OFFICIAL, duration=8), "text-to-video", id="official-8s"),
    pytest.param(
        body(OFFICIAL, image_urls=[IMAGE] * 5, metadata={"task": "reference_to_video"}),
        "reference-to-video",
        id="official-five-references",
    ),
    pytest.param(
        body(OFFICIAL, video_list=[{"video_url": VIDEO}], metadata={"task": "edit", "top_p": 0.9}),
        "video edit",
        id="official-edit",
    ),
]


@pytest.mark.parametrize(("request_body", "label"), ACCEPTED)
def test_create_then_query_to_completion(
    sb: Sandbox, request_body: dict[str, Any], label: str
) -> None:
    before = int(time.time())
    with api(sb) as client:
        created = client.post(CREATE, json=request_body)
        assert created.status_code == 200, created.text
        task = created.json()
        answer = client.get(f"{CREATE}/{task['id']}").json()
    assert ID.fullmatch(task["id"]) and sb.created_task_ids == [task["id"]]
    assert task == {
        "id": task["id"],
        "object": "generation.task",
        "model": request_body["model"],
        "status": "queued",
        "created_at": task["created_at"],
    }
    assert before <= task["created_at"] <= int(time.time())
    assert answer["status"] == "completed" and answer["progress"] == 100
    assert answer["model"] == request_body["model"] and answer["created_at"] == task["created_at"]
    assert answer["created_at"] <= answer["completed_at"] <= int(time.time())
    assert answer["expires_at"] == answer["completed_at"] + int(sb.ttl)
    assert answer["result"]["data"][0]["format"] == "mp4"
    stored = sb._state.tasks.get(task["id"])
    assert stored is not None and stored.video.label == label


def test_the_result_is_a_playable_mp4_of_the_requested_shape(sb: Sandbox) -> None:
    with api(sb) as client:
        task_id = client.post(CREATE, json=body(aspect_ratio="9:16")).json()["id"]
        url = client.get(f"{CREATE}/{task_id}").json()["result"]["data"][0]["url"]
    with raw(sb) as files:
        video = files.get(url)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    clip = probe(video.content)
    assert (clip.width, clip.height, round(clip.duration)) == (360, 640, 6)


def test_statuses_are_queued_in_progress_completed() -> None:
    with Sandbox(gateway="toapis", speed=1.0, seed=2) as sb, api(sb) as client:
        task_id = client.post(CREATE, json=body()).json()["id"]
        task = sb._state.tasks.get(task_id)
        assert task is not None
        start, end = task.started_at, task.finishes_at + 0.01
        moments = [start, start + task.queue_for + 0.01, end]
        answers = [DIALECT.query_body(task, now, sb.ttl) for now in moments]
    for answer in answers:
        TOAPIS.response_validator("query", 200).validate(answer)
    assert [a["status"] for a in answers] == ["queued", "in_progress", "completed"]
    assert [a["progress"] for a in answers][::2] == [0, 100]
    assert 0 < answers[1]["progress"] < 100
    assert "result" not in answers[1] and "completed_at" not in answers[1]


def test_a_scripted_failure_fails_the_task_with_the_documented_code(sb: Sandbox) -> None:
    with api(sb) as client:
        for directive, reason in [
            ("[[fail:content_policy_violation]]", "Content violates the content policy"),
            ("[[fail:generation_failed]]", "could not produce a video"),
            ("[[fail:generation_timeout]]", "Generation timeout"),
        ]:
            task_id = client.post(CREATE, json=body(prompt=f"a kite {directive}")).json()["id"]
            answer = client.get(f"{CREATE}/{task_id}").json()
            assert answer["status"] == "failed", answer
            assert answer["error"]["code"] == "generation_failed"
            assert answer["error"]["message"].startswith("Generation failed: ")
            assert reason in answer["error"]["message"]
        unknown = client.post(CREATE, json=body(prompt="[[fail:nonsense]]"))
    assert unknown.status_code == 400 and "generation_failed" in unknown.json()["error"]["message"]


def test_a_refused_prompt_gets_422_and_makes_no_task(sb: Sandbox) -> None:
    with api(sb) as client:
        refused = client.post(CREATE, json=body(prompt="a kite [[refuse]]"))
    assert matches_documented(refused, "create", 422), refused.text
    assert "content policy" in refused.json()["error"]["message"]
    assert sb.created_task_ids == []


REFUSED = [
    pytest.param(body(duration=5), "duration", "6 or 10", id="guide-duration-5"),
    pytest.param(body(duration="6"), "duration", "6 or 10", id="duration-as-text"),
    pytest.param(body(OFFICIAL, duration=7), "duration", "4 or 6 or 8 or 10", id="official-7s"),
    pytest.param(body(aspect_ratio="1:1"), "aspect_ratio", "16:9 or 9:16", id="square"),
    pytest.param(
        body(resolution="1080p", aspect_ratio="9:16"), "resolution", "16:9", id="1080p-portrait"
    ),
    pytest.param(body("gemini_omni", resolution="1080p"), "resolution", "720P", id="omni-1080p"),
    pytest.param(body(resolution="4k"), "resolution", "720P or 1080P", id="4k"),
    pytest.param(body(image_urls=[IMAGE] * 2), "image_urls", "never 2", id="two-images"),
    pytest.param(body(image_urls=[IMAGE] * 4), "image_urls", "0, 1 or 3", id="four-images"),
    pytest.param(body(OFFICIAL, image_urls=[IMAGE] * 11), "image_urls", "at most 10", id="eleven"),
    pytest.param(
        body(image_urls=["data:image/png;base64,iVBORw0KGgo="]),
        "image_urls",
        "URLs only",
        id="data-url",
    ),
    pytest.param(
        body(image_urls=["iVBORw0KGgoAAAANSUhEUg"]), "image_urls", "no base64", id="base64"
    ),
    pytest.param(
        body(video_list=[{"video_url": VIDEO}]),
        "video_list",
        f"only by {OFFICIAL}",
        id="edit-on-flash",
    ),
    pytest.param(
        body(OFFICIAL, video_list=[{"video_url": VIDEO}]),
        "metadata",
        "edit",
        id="videos-without-edit",
    ),
    pytest.param(
        body(OFFICIAL, metadata={"task": "edit"}),
        "video_list",
        "needs video_list",
        id="edit-without-video",
    ),
    pytest.param(
        body(
            OFFICIAL,
            aspect_ratio="16:9",
            video_list=[{"video_url": VIDEO}],
            metadata={"task": "edit"},
        ),
        "aspect_ratio",
        "not taken by an edit",
        id="edit-with-aspect-ratio",
    ),
    pytest.param(
        body(
            OFFICIAL,
            image_urls=[IMAGE],
            video_list=[{"video_url": VIDEO}],
            metadata={"task": "edit"},
        ),
        "video_list",
        "never both",
        id="images-and-videos",
    ),
    pytest.param(
        body(OFFICIAL, video_list=[{"video_url": VIDEO}] * 4, metadata={"task": "edit"}),
        "video_list",
        "1..3",
        id="four-videos",
    ),
    pytest.param(body(OFFICIAL, metadata={"temperature": 3}), "metadata", "0..2", id="temperature"),
    pytest.param(
        body(OFFICIAL, metadata={"task": "dance"}), "metadata", "text_to_video", id="task"
    ),
    pytest.param(
        body(callback_url="https://example.com/hook"), "callback_url", "poll", id="callback"
    ),
    pytest.param(body(seconds=6), "seconds", "allowed: model, prompt", id="unknown-field"),
    pytest.param(body(prompt="  "), "prompt", "non-empty", id="blank-prompt"),
    pytest.param({"model": FLASH}, "prompt", "required", id="no-prompt"),
    pytest.param(
        body("gemini-omni-flash-text-to-video"), "model", "gemini_omni_flash", id="evolink-model"
    ),
]


@pytest.mark.parametrize(("request_body", "param", "says"), REFUSED)
def test_invalid_creates_are_refused_as_the_schema_refuses_them(
    sb: Sandbox, request_body: dict[str, Any], param: str, says: str
) -> None:
    with api(sb) as client:
        refused = client.post(CREATE, json=request_body)
    assert matches_documented(refused, "create", 400), refused.text
    error = refused.json()["error"]
    assert error["param"] == param and says in error["message"], error
    assert sb.created_task_ids == []
    # The schemas, like EvoLink's, leave blank prompts to the client's text checks.
    if request_body["model"] in TOAPIS.models and param != "prompt":
        assert not TOAPIS.request_validator(request_body["model"]).is_valid(request_body)


# Values each valid somewhere, so that the cases turn on how fields combine (model, mode, image
# count, video list, edit, 1080p); single bad values are covered above.
BODIES = st.fixed_dictionaries(
    {"model": st.sampled_from(TOAPIS.models), "prompt": st.just("a kite")},
    optional={
        "duration": st.sampled_from([4, 6, 8, 10]),
        "aspect_ratio": st.sampled_from(["16:9", "9:16"]),
        "resolution": st.sampled_from(["720P", "720p", "1080p"]),
        "image_urls": st.lists(st.just(IMAGE), max_size=4)
        | st.lists(st.just(IMAGE), min_size=10, max_size=11),
        "video_list": st.lists(st.just({"video_url": VIDEO}), max_size=4),
        "metadata": st.fixed_dictionaries(
            {},
            optional={
                "task": st.sampled_from(TASKS),
                "temperature": st.sampled_from([0, 1.5]),
                "top_p": st.just(0.5),
            },
        ),
    },
)


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with api(sandbox) as client:
        yield client


@settings(max_examples=examples(200), deadline=None, database=None)  # nothing written into the repo
@given(request_body=BODIES)
def test_the_sandbox_accepts_exactly_what_the_schema_accepts(
    client: httpx.Client, request_body: dict[str, Any]
) -> None:
    answer = client.post(CREATE, json=request_body)
    schema_accepts = TOAPIS.request_validator(request_body["model"]).is_valid(request_body)
    assert (answer.status_code == 200) == schema_accepts, (answer.text, request_body)
    if answer.status_code != 200:
        assert matches_documented(answer, "create", 400), answer.text


@pytest.mark.parametrize(
    ("key", "status"), [(None, 401), ("sk-sandbox-401", 401), ("sk-sandbox-402", 402)]
)
def test_special_keys_and_no_key_get_the_documented_errors(
    sb: Sandbox, key: str | None, status: int
) -> None:
    with api(sb) as owner:
        task_id = owner.post(CREATE, json=body()).json()["id"]
    with api(sb, key) as client:
        create = client.post(CREATE, json=body())
        query = client.get(f"{CREATE}/{task_id}")
    assert matches_documented(create, "create", status), create.text
    assert query.status_code == status and query.json()["error"]["code"] in (
        "unauthorized",
        "insufficient_quota",
    )


def test_the_403_key_is_refused_in_the_gateway_shape(sb: Sandbox) -> None:
    with api(sb) as owner:
        task_id = owner.post(CREATE, json=body()).json()["id"]
    with api(sb, "sk-sandbox-403") as client:
        create = client.post(CREATE, json=body())
        query = client.get(f"{CREATE}/{task_id}")
    assert (create.status_code, query.status_code) == (403, 403)
    assert FLASH in create.json()["error"]["message"]
    assert sb.created_task_ids == [task_id]


def test_unknown_and_foreign_tasks_are_not_found(sb: Sandbox) -> None:
    with api(sb) as owner:
        task_id = owner.post(CREATE, json=body()).json()["id"]
        unknown = owner.get(f"{CREATE}/video_01JZZZZZZZZZZZZZZZZZZZZZZZ")
        guide_style = owner.get(f"{CREATE}/task_xxxxxxxx")
    with api(sb, "sk-someone-else") as stranger:
        foreign = stranger.get(f"{CREATE}/{task_id}")
    for answer in (unknown, guide_style, foreign):
        assert matches_documented(answer, "query", 404), answer.text


def test_evolink_paths_are_not_served(sb: Sandbox) -> None:
    with raw(sb) as client:
        task_id = client.post(CREATE, json=body()).json()["id"]
        evolink_query = client.get(f"/v1/tasks/{task_id}")
        about = client.get("/")
    assert evolink_query.status_code == 404 and evolink_query.json()["error"]["code"] == "not_found"
    assert "GET  /v1/videos/generations/{task_id}" in about.text and "ToAPIs" in about.text


def test_rate_limits_always_carry_retry_after(sb: Sandbox) -> None:
    sb.faults.rate_limit(on="create", count=1)
    sb.faults.rate_limit(on="query", count=1, retry_after=3)
    with api(sb) as client:
        limited = client.post(CREATE, json=body())
        created = client.post(CREATE, json=body())
        task_id = created.json()["id"]
        query_limited = client.get(f"{CREATE}/{task_id}")
        answered = client.get(f"{CREATE}/{task_id}")
    assert matches_documented(limited, "create", 429) and limited.headers["retry-after"] == "1"
    assert matches_documented(query_limited, "query", 429)
    assert query_limited.headers["retry-after"] == "3"
    assert (created.status_code, answered.status_code) == (200, 200)
    assert sb.created_task_ids == [task_id]


def test_faults_find_the_query_on_its_own_path(sb: Sandbox) -> None:
    delay = sb.faults.latency(0.01, on="query")
    with api(sb) as client:
        task_id = client.post(CREATE, json=body()).json()["id"]
        client.get(f"{CREATE}/{task_id}")
        client.get(f"/v1/tasks/{task_id}")  # EvoLink's path: not an endpoint here
    assert (delay.seen, delay.fired) == (1, 1)


def test_server_errors_in_the_gateway_shape(sb: Sandbox) -> None:
    sb.faults.server_error(on="query", count=1)
    sb.faults.server_error(on="create", count=1, after=True)
    with api(sb) as client:
        failed_create = client.post(CREATE, json=body())
        task_id = sb.created_task_ids[0]
        failed_query = client.get(f"{CREATE}/{task_id}")
        answered = client.get(f"{CREATE}/{task_id}")
    assert matches_documented(failed_create, "create", 500)
    assert task_id in failed_create.json()["error"]["message"] and ID.fullmatch(task_id)
    assert matches_documented(failed_query, "query", 500)
    assert answered.json()["status"] == "completed"


def test_dropped_garbled_and_download_faults(sb: Sandbox) -> None:
    sb.faults.drop(on="create", count=1, after=True)
    sb.faults.malformed(on="query", count=1)
    with raw(sb) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post(CREATE, json=body())
        task_id = sb.created_task_ids[0]
        garbled = client.get(f"{CREATE}/{task_id}")
        url = client.get(f"{CREATE}/{task_id}").json()["result"]["data"][0]["url"]
        sb.faults.truncate(on="download", count=1)
        sb.faults.html(on="download", count=1)
        cut, page, whole = (client.get(url) for _ in range(3))
    assert garbled.status_code == 200
    with pytest.raises(ValueError):
        garbled.json()
    assert cut.content == whole.content[: len(whole.content) // 2]
    assert page.headers["content-type"].startswith("text/html")
    assert [r.status for r in sb.requests][:2] == [0, 200]


def test_the_guard_answers_in_the_gateway_shape() -> None:
    with Sandbox(gateway="toapis", speed=INF, any_key=False) as sb:
        with api(sb, "sk-not-the-sandboxes") as stranger:
            create = stranger.post(CREATE, json=body())
            query = stranger.get(f"{CREATE}/video_01JZZZZZZZZZZZZZZZZZZZZZZZ")
        with raw(sb) as client:
            foreign_host = client.post(CREATE, json=body(), headers={"host": "evil.example"})
            form = client.post(CREATE, content=b"model=x", headers={"content-type": "text/plain"})
    assert matches_documented(create, "create", 401) and matches_documented(query, "query", 401)
    assert (foreign_host.status_code, form.status_code) == (421, 415)


def test_records_survive_a_restart_in_their_own_file(tmp_path: Path) -> None:
    with Sandbox(gateway="toapis", speed=INF, state_dir=tmp_path) as first, api(first) as client:
        task_id = client.post(CREATE, json=body(duration=10)).json()["id"]
        before = client.get(f"{CREATE}/{task_id}").json()
    assert (tmp_path / "tasks-toapis.sqlite3").is_file()
    assert not (tmp_path / "tasks.sqlite3").exists()
    with Sandbox(gateway="toapis", speed=INF, state_dir=tmp_path) as second, api(second) as client:
        after = client.get(f"{CREATE}/{task_id}").json()
    assert after["status"] == "completed" and after["model"] == FLASH
    assert (after["created_at"], after["completed_at"]) == (
        before["created_at"],
        before["completed_at"],
    )
    with Sandbox(speed=INF, state_dir=tmp_path) as evolink:
        assert not evolink._state.tasks.get(task_id)


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omni_widgets.sandbox", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_gateway_flag() -> None:
    helped = _cli("--help")
    assert "--gateway {evolink,toapis}" in helped.stdout
    wrong = _cli("--gateway", "replicate")
    assert wrong.returncode == 2 and "invalid choice: 'replicate'" in wrong.stderr
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "omni_widgets.sandbox",
            "--gateway",
            "toapis",
            "--port",
            "0",
            "--speed",
            "inf",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first, second, third = (process.stdout.readline() for _ in range(3))
        url = re.search(r"serving at (http://127\.0\.0\.1:\d+) \(speaking toapis\)", first)
        key = re.search(r"API key: (\S+)", second)
        assert url and key, first + second
        assert "gateway='toapis'" in third
        headers = {"Authorization": f"Bearer {key[1]}"}
        with httpx.Client(
            base_url=url[1], headers=headers, trust_env=False, event_hooks={"response": [check]}
        ) as client:
            task_id = client.post(CREATE, json=body()).json()["id"]
            assert client.get(f"{CREATE}/{task_id}").json()["status"] == "completed"
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.slow
def test_a_shared_process_per_gateway(tmp_path: Path) -> None:
    try:
        shared = start_shared(tmp_path, gateway="toapis")
        assert shared.gateway == "toapis" and "gateway=toapis" in repr(shared)
        found = read_discovery(discovery_file(tmp_path, "toapis"))
        assert found is not None and found.gateway == "toapis" and found.pid == shared.pid
        assert find_shared(tmp_path) is None  # EvoLink's has not been started
        assert find_shared(tmp_path, gateway="toapis") is not None
        shared.speed = INF
        headers = {"Authorization": f"Bearer {shared.api_key}"}
        with httpx.Client(
            base_url=shared.base_url,
            headers=headers,
            trust_env=False,
            event_hooks={"response": [check]},
        ) as client:
            task_id = client.post(CREATE, json=body()).json()["id"]
            assert ID.fullmatch(task_id)
            assert client.get(f"{CREATE}/{task_id}").json()["status"] == "completed"
        assert (tmp_path / "state-toapis" / "tasks-toapis.sqlite3").is_file()
        assert start_shared(tmp_path, gateway="toapis").pid == shared.pid
    finally:
        assert stop_shared(tmp_path) is True  # no gateway named: every gateway's process
    assert find_shared(tmp_path, gateway="toapis") is None
    assert not discovery_file(tmp_path, "toapis").exists()
