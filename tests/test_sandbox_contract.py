"""The sandbox speaks the vendor's contract: shapes, ids, usage, task life, validation and errors,
each response checked against the project's schemas of the gateway (tests/schemas/evolink)."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from _contract import EVOLINK
from test_sandbox_support import (
    CREATE,
    EDIT,
    I2V,
    INF,
    MODELS,
    REF,
    T2V,
    api,
    body_for,
    data_url,
    documented_error,
    image,
    png,
    wait_terminal,
)

from omni_widgets.sandbox import SPECIAL_KEYS, Sandbox
from omni_widgets.sandbox._failures import FAILURE_MESSAGES

ID = re.compile(r"^task-unified-\d{10}-[a-z0-9]{8}$")


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(speed=INF, seed=1) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[httpx.Client]:
    sb.faults.clear()
    with api(sb) as c:
        yield c


def test_schema_checks_can_fail() -> None:
    """The harness itself: the schemas do reject a wrong status or progress."""
    with pytest.raises(jsonschema.ValidationError):
        EVOLINK.validator("query-response.json").validate({"status": "done"})
    with pytest.raises(jsonschema.ValidationError):
        EVOLINK.validator("create-response.json").validate({"progress": 101})


@pytest.mark.parametrize("model", MODELS)
def test_create_response_has_the_vendor_shape(client: httpx.Client, model: str) -> None:
    before = int(time.time())
    body = client.post(CREATE, json=body_for(model)).json()
    assert set(body) == {
        "created", "id", "model", "object", "progress", "status", "task_info", "type", "usage"
    }  # fmt: skip
    assert ID.match(body["id"]), body["id"]
    assert before <= body["created"] <= time.time() + 1
    assert abs(int(body["id"].split("-")[2]) - body["created"]) <= 1
    assert (body["model"], body["object"], body["type"]) == (
        model,
        "video.generation.task",
        "video",
    )
    assert (body["status"], body["progress"]) == ("pending", 0)
    assert body["task_info"]["can_cancel"] is False
    assert isinstance(body["task_info"]["estimated_time"], int)
    assert body["task_info"]["estimated_time"] == 0  # speed=inf: done by the first query
    assert body["usage"]["billing_rule"] == "per_token"
    assert body["usage"]["user_group"] == "default"


@pytest.mark.parametrize(
    ("body", "seconds"),
    [
        (body_for(T2V, duration=3), 3),
        (body_for(T2V, duration=10), 10),
        (body_for(T2V), 10),
        (body_for(T2V, duration="auto"), 10),
        (body_for(I2V, duration=7), 7),
        (body_for(EDIT), 20),  # input (assumed 10 s, the documented maximum) plus output
    ],
)
def test_credits_follow_the_token_price(
    client: httpx.Client, body: dict[str, Any], seconds: int
) -> None:
    usage = client.post(CREATE, json=body).json()["usage"]
    assert usage["credits_reserved"] == round(seconds * 5792 * 0.001, 2)


def test_estimate_is_in_real_seconds_at_the_sandbox_speed() -> None:
    with Sandbox(speed=40, seed=3) as sandbox, api(sandbox) as client:
        body = client.post(CREATE, json=body_for(T2V, duration=10)).json()
    assert body["task_info"]["estimated_time"] == 3  # 120 vendor seconds at 40x


def test_ids_are_unique(client: httpx.Client, sb: Sandbox) -> None:
    ids = [client.post(CREATE, json=body_for(T2V)).json()["id"] for _ in range(20)]
    assert len(set(ids)) == 20
    assert sb.created_task_ids[-20:] == ids


def test_task_goes_pending_processing_completed_with_rising_progress() -> None:
    with Sandbox(speed=100, seed=2) as sandbox, api(sandbox) as client:
        start = time.monotonic()
        created = client.post(CREATE, json=body_for(T2V, duration=3)).json()
        seen: list[tuple[str, int]] = []
        while not seen or seen[-1][0] != "completed":
            body = client.get(f"/v1/tasks/{created['id']}").json()
            seen.append((body["status"], body["progress"]))
            assert time.monotonic() - start < 60, "a 0.64 s task never completed"
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        planned = sandbox._state.tasks.get(created["id"])
    statuses = [status for status, _ in seen]
    assert statuses[0] == "pending"
    assert statuses == sorted(statuses, key=["pending", "processing", "completed"].index)
    processing = [progress for status, progress in seen if status == "processing"]
    assert len(set(processing)) >= 3
    assert processing == sorted(processing) and processing[0] > 0 and processing[-1] < 100
    assert seen[-1] == ("completed", 100)
    assert created["task_info"]["estimated_time"] == 1  # 64 vendor seconds / 100, rounded up
    estimate = 64 / 100
    # Its planned end is near the estimate; a loaded machine can only make it come later.
    assert planned is not None and 0.75 * estimate <= planned.finish_after <= 1.25 * estimate
    assert elapsed >= 0.7 * estimate


def test_completion_times_vary_but_are_reproducible_with_a_seed() -> None:
    def plan(seed: int) -> list[float]:
        with Sandbox(speed=50, seed=seed) as sandbox, api(sandbox) as client:
            ids = [client.post(CREATE, json=body_for(T2V)).json()["id"] for _ in range(4)]
            tasks = [sandbox._state.tasks.get(task_id) for task_id in ids]
            return [round(task.finish_after, 6) for task in tasks if task is not None]

    first, again, other = plan(9), plan(9), plan(10)
    assert first == again
    assert first != other
    assert len(set(first)) == 4


def test_a_completed_task_lists_its_result(client: httpx.Client, sb: Sandbox) -> None:
    task_id = client.post(CREATE, json=body_for(T2V, duration=3)).json()["id"]
    body = client.get(f"/v1/tasks/{task_id}").json()
    assert set(body) == {
        "created", "id", "model", "object", "progress", "status", "task_info", "type", "results"
    }  # fmt: skip
    assert body["status"] == "completed" and body["progress"] == 100
    (url,) = body["results"]
    assert re.fullmatch(rf"{sb.base_url}/files/[A-Za-z0-9_-]{{22}}/{task_id}\.mp4", url), url


@pytest.mark.parametrize("code", sorted(FAILURE_MESSAGES))
def test_prompt_directive_scripts_a_business_failure(client: httpx.Client, code: str) -> None:
    created = client.post(CREATE, json=body_for(T2V, prompt=f"a cat [[fail:{code}]] jumping"))
    assert created.status_code == 200
    body = client.get(f"/v1/tasks/{created.json()['id']}").json()
    assert set(body) == {"id", "object", "status", "model", "progress", "error"}
    assert body["status"] == "failed"
    assert body["error"]["code"] == code
    assert body["error"]["type"] == "task_error"
    assert len(body["error"]["message"]) > 20


def test_failing_task_passes_through_processing_first() -> None:
    with Sandbox(speed=100, seed=4) as sandbox, api(sandbox) as client:
        body = body_for(T2V, prompt="[[fail:service_error]] rain", duration=3)
        task_id = client.post(CREATE, json=body).json()["id"]
        statuses: list[str] = []
        while not statuses or statuses[-1] != "failed":
            statuses.append(client.get(f"/v1/tasks/{task_id}").json()["status"])
            time.sleep(0.005)
    assert statuses[0] == "pending"
    assert "processing" in statuses
    assert set(statuses) == {"pending", "processing", "failed"}


def test_unknown_failure_code_is_refused(client: httpx.Client) -> None:
    response = client.post(CREATE, json=body_for(T2V, prompt="[[fail:bogus_code]] x"))
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "prompt"
    assert "bogus_code" in response.json()["error"]["message"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


GIF = b"GIF89a" + bytes(40)
HEIC = b"\x00\x00\x00\x18ftypheic" + bytes(40)
INVALID = [
    ([], None, "JSON object"),
    ({"prompt": "x"}, "model", "model is required"),
    ({"model": "veo-3", "prompt": "x"}, "model", 'got "veo-3"'),
    ({"model": T2V}, "prompt", "prompt is required"),
    ({"model": T2V, "prompt": ""}, "prompt", "non-empty string"),
    ({"model": T2V, "prompt": "   "}, "prompt", "non-empty string"),
    ({"model": T2V, "prompt": 5}, "prompt", "got 5"),
    ({"model": T2V, "prompt": "x", "duration": 11}, "duration", "integer 3..10 or 'auto', got 11"),
    ({"model": T2V, "prompt": "x", "duration": 2}, "duration", "got 2"),
    ({"model": T2V, "prompt": "x", "duration": "5"}, "duration", 'got "5"'),
    ({"model": T2V, "prompt": "x", "duration": 5.0}, "duration", "got 5.0"),
    ({"model": T2V, "prompt": "x", "duration": True}, "duration", "got true"),
    ({"model": T2V, "prompt": "x", "duration": None}, "duration", "got null"),
    ({"model": T2V, "prompt": "x", "aspect_ratio": "1:1"}, "aspect_ratio", '"1:1"'),
    ({"model": T2V, "prompt": "x", "aspect_ratio": "16x9"}, "aspect_ratio", "'16:9'"),
    ({"model": I2V, "prompt": "x"}, "image_urls", "required"),
    ({"model": I2V, "prompt": "x", "image_urls": []}, "image_urls", "exactly 1"),
    (
        {"model": I2V, "prompt": "x", "image_urls": ["https://a.example/1.png"] * 2},
        "image_urls",
        "got 2",
    ),
    (
        {"model": REF, "prompt": "x", "image_urls": ["https://a.example/1.png"] * 7},
        "image_urls",
        "1..6",
    ),
    ({"model": REF, "prompt": "x", "image_urls": "https://a.example/1.png"}, "image_urls", "array"),
    ({"model": REF, "prompt": "x", "image_urls": [3]}, "image_urls", "image_urls[0]"),
    (
        {"model": I2V, "prompt": "x", "image_urls": ["ftp://a.example/1.png"]},
        "image_urls",
        "http(s)",
    ),
    ({"model": I2V, "prompt": "x", "image_urls": ["not an image!"]}, "image_urls", "base64"),
    (
        {"model": I2V, "prompt": "x", "image_urls": [_b64(GIF)]},
        "image_urls",
        "unsupported file type",
    ),
    ({"model": I2V, "prompt": "x", "image_urls": [_b64(HEIC)]}, "image_urls", "heic"),
    (
        {"model": I2V, "prompt": "x", "image_urls": ["data:image/avif;base64,AAAA"]},
        "image_urls",
        "unsupported file type",
    ),
    (
        {"model": I2V, "prompt": "x", "image_urls": [data_url(png(100, 300))]},
        "image_urls",
        "between 240 and 7680",
    ),
    (
        {
            "model": REF,
            "prompt": "x",
            "image_urls": [data_url(png(300, 300)), _b64(png(8000, 240))],
        },
        "image_urls",
        "image_urls[1]",
    ),
    (
        {
            "model": I2V,
            "prompt": "x",
            "image_urls": [_b64(b"\x89PNG\r\n\x1a\n" + bytes(10_500_000))],
        },
        "image_urls",
        "exceeds 10MB",
    ),
    ({"model": EDIT, "prompt": "x"}, "video_urls", "required"),
    ({"model": EDIT, "prompt": "x", "video_urls": []}, "video_urls", "exactly 1"),
    (
        {"model": EDIT, "prompt": "x", "video_urls": ["data:video/mp4;base64,AAAA"]},
        "video_urls",
        "http",
    ),
    (
        {"model": EDIT, "prompt": "x", "video_urls": ["https://a.example/v.mp4"], "duration": 5},
        "duration",
        "not supported",
    ),
    (
        {
            "model": EDIT,
            "prompt": "x",
            "video_urls": ["https://a.example/v.mp4"],
            "aspect_ratio": "16:9",
        },
        "aspect_ratio",
        "not supported",
    ),
    (
        {"model": T2V, "prompt": "x", "callback_url": "http://hooks.example.com/x"},
        "callback_url",
        "https",
    ),
    ({"model": T2V, "prompt": "x", "callback_url": 7}, "callback_url", "string"),
    (
        {"model": T2V, "prompt": "x", "callback_url": "hooks.example.com"},
        "callback_url",
        "https URL",
    ),
    (
        {"model": T2V, "prompt": "x", "callback_url": "https://example.com/" + "a" * 2040},
        "callback_url",
        "2048",
    ),
]
INTERNAL_HOSTS = [
    "127.0.0.1", "127.1", "localhost", "api.localhost", "[::1]", "10.1.2.3", "172.16.0.9",
    "172.31.255.1", "192.168.1.10", "169.254.169.254", "0.0.0.0", "[::ffff:10.0.0.1]",
    "[fe80::1]", "[fc00::1]", "2130706433", "0x7f000001",
]  # fmt: skip


@pytest.mark.parametrize(("body", "param", "fragment"), INVALID)
def test_invalid_requests_get_400_naming_the_parameter(
    client: httpx.Client, sb: Sandbox, body: object, param: str | None, fragment: str
) -> None:
    before = len(sb.created_task_ids)
    response = client.post(CREATE, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["type"]) == ("invalid_request", "invalid_request_error")
    assert error.get("param") == param
    assert fragment in error["message"]
    if param:
        assert error["message"].startswith(param.split("[")[0])
    assert len(sb.created_task_ids) == before


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_callbacks_to_internal_addresses_are_refused(client: httpx.Client, host: str) -> None:
    body = body_for(T2V, callback_url=f"https://{host}/hook")
    response = client.post(CREATE, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "callback_url"
    assert "loopback, private" in response.json()["error"]["message"]


def test_invalid_json_is_a_400(client: httpx.Client) -> None:
    response = client.post(
        CREATE, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        body_for(T2V, duration="auto", aspect_ratio="auto"),
        body_for(T2V, duration=3, aspect_ratio="9:16"),
        body_for(T2V, seed=42, negative_prompt="no", resolution="720p"),  # unknown: ignored
        body_for(T2V, image_urls=["not checked for text-to-video"]),
        body_for(I2V, image_urls=["https://cdn.example.com/cat.png"]),
        body_for(I2V, image_urls=[_b64(image(400, 300, "JPEG"))]),
        body_for(I2V, image_urls=[data_url(image(400, 300, "WEBP"), "image/webp")]),
        body_for(I2V, image_urls=[data_url(image(400, 300, "JPEG"), "image/jpeg")]),
        body_for(REF, image_urls=["https://cdn.example.com/a.png"] * 6),
        body_for(EDIT, video_urls=["http://cdn.example.com/a.mp4"]),
        body_for(T2V, callback_url="https://hooks.example.com/omni?x=1"),
        body_for(T2V, callback_url="https://93.184.216.34/hook"),
        body_for(T2V, prompt="一只猫在雨中奔跑"),
    ],
)
def test_valid_requests_are_accepted(client: httpx.Client, body: dict[str, Any]) -> None:
    response = client.post(CREATE, json=body)
    assert response.status_code == 200, response.text
    assert wait_terminal(client, response.json()["id"])["status"] == "completed"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Basic abc", "sk-sandbox-demo", "Token sk-x"]
)
def test_missing_or_malformed_key_is_401(sb: Sandbox, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    with api(sb, key=None) as client:
        create = client.post(CREATE, json=body_for(T2V), headers=headers)
        query = client.get("/v1/tasks/task-unified-1-abcdefgh", headers=headers)
    assert (create.status_code, create.json()) == (401, documented_error("create", 401, T2V))
    assert (query.status_code, query.json()) == (401, documented_error("query", 401))


@pytest.mark.parametrize(("key", "status"), SPECIAL_KEYS.items())
@pytest.mark.parametrize("model", MODELS)
def test_special_keys_provoke_the_vendor_errors(
    sb: Sandbox, key: str, status: int, model: str
) -> None:
    with api(sb) as owner:
        task_id = owner.post(CREATE, json=body_for(model)).json()["id"]
    with api(sb, key=key) as client:
        create = client.post(CREATE, json=body_for(model))
        query = client.get(f"/v1/tasks/{task_id}")
    expected = documented_error("create", status, model)
    assert (create.status_code, create.json()) == (status, expected)
    assert (query.status_code, query.json()) == (status, documented_error("query", status))


def test_any_other_key_works_but_only_for_its_own_tasks(sb: Sandbox) -> None:
    with api(sb, key="sk-someone") as mine, api(sb, key="sk-someone-else") as theirs:
        task_id = mine.post(CREATE, json=body_for(T2V)).json()["id"]
        assert mine.get(f"/v1/tasks/{task_id}").status_code == 200
        response = theirs.get(f"/v1/tasks/{task_id}")
    assert (response.status_code, response.json()) == (403, documented_error("query", 403))


@pytest.mark.parametrize("task_id", ["abc", "task-123", "TASK-UNIFIED-1-abcdefgh", ""])
def test_malformed_task_id_is_400_invalid_task_id(client: httpx.Client, task_id: str) -> None:
    response = client.get(f"/v1/tasks/{task_id}")
    assert (response.status_code, response.json()) == (400, documented_error("query", 400))


def test_unknown_task_is_404(client: httpx.Client) -> None:
    response = client.get("/v1/tasks/task-unified-1757169743-zzzzzzzz")
    assert (response.status_code, response.json()) == (404, documented_error("query", 404))


def test_unknown_paths_and_methods_get_json_errors(client: httpx.Client) -> None:
    missing = client.get("/v1/videos")
    wrong = client.get(CREATE)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
