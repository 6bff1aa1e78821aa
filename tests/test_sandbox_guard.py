"""The sandbox as a trustworthy local service: its admin endpoints need its key, it refuses
cross-site requests (foreign Host headers, non-JSON POSTs), oversized bodies, and warns when it
listens beyond loopback; its result URLs are unguessable; the command line accepts only its key."""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from test_sandbox_run import announced_key, cli
from test_sandbox_support import CREATE, INF, T2V, api, body_for, raw, wait_terminal

from omni_widgets.sandbox import SPECIAL_KEYS, Sandbox
from omni_widgets.sandbox._guard import MAX_BODY
from omni_widgets.sandbox._validate import MAX_IMAGE_BYTES

ADMIN = [
    ("GET", "/_sandbox/faults"),
    ("POST", "/_sandbox/faults"),
    ("DELETE", "/_sandbox/faults"),
    ("GET", "/_sandbox/log"),
    ("DELETE", "/_sandbox/log"),
    ("GET", "/_sandbox/config"),
    ("POST", "/_sandbox/config"),
]


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(speed=INF, seed=41, max_body=4096) as sandbox:
        yield sandbox


def assert_vendor_error(response: httpx.Response, status: int) -> dict[str, str]:
    """The status, a JSON body in the vendor's `{"error": {code, message, type}}` shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, str] = response.json()["error"]
    assert set(error) == {"code", "message", "type"}
    assert all(isinstance(value, str) and value for value in error.values())
    return error


def port_of(sb: Sandbox) -> int:
    return int(sb.base_url.rsplit(":", 1)[1])


def exchange(sb: Sandbox, request: bytes) -> bytes:
    """Send raw bytes; read the whole answer (the server closes after it)."""
    with socket.create_connection(("127.0.0.1", port_of(sb)), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# 1. The admin endpoints need the sandbox's own key.


@pytest.mark.parametrize(("method", "path"), ADMIN)
@pytest.mark.parametrize("key", [None, "sk-some-other-key", "sk-sandbox-401"])
def test_admin_endpoints_refuse_any_other_key(
    sb: Sandbox, method: str, path: str, key: str | None
) -> None:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    faults_before = len(sb.faults.rules)
    with httpx.Client(base_url=sb.base_url, trust_env=False) as client:
        response = client.request(method, path, json={"speed": 1}, headers=headers)
    error = assert_vendor_error(response, 401)
    assert (error["code"], error["type"]) == ("unauthorized", "authentication_error")
    assert sb.speed == INF and len(sb.faults.rules) == faults_before


def test_admin_endpoints_work_with_the_sandbox_key(sb: Sandbox) -> None:
    with raw(sb) as admin:
        assert admin.get("/_sandbox/config").json() == {
            "speed": "inf",
            "ttl": sb.ttl,
            "record_ttl": sb.record_ttl,
        }
        assert admin.get("/_sandbox/log").status_code == 200
        assert admin.delete("/_sandbox/faults").json() == {"faults": []}


def test_the_in_process_sandbox_key_is_random_and_only_it_is_admin() -> None:
    one, two = Sandbox(), Sandbox(api_key="sk-chosen")
    assert one.api_key.startswith("sk-sandbox-") and one.api_key != Sandbox().api_key
    assert two.api_key == "sk-chosen"
    with pytest.raises(ValueError, match="api_key"):
        Sandbox(api_key=" ")


# 2. Cross-site requests: foreign Host headers and non-JSON POSTs.


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        "",  # a body without any type
    ],
)
def test_a_post_that_is_not_json_is_refused_before_anything_happens(
    sb: Sandbox, content_type: str
) -> None:
    created = len(sb.created_task_ids)
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    if content_type:
        headers["Content-Type"] = content_type
    body = json.dumps(body_for(T2V)).encode()
    with httpx.Client(base_url=sb.base_url, trust_env=False) as client:
        refused = client.post(CREATE, content=body, headers=headers)
        admin = client.post("/_sandbox/config", content=b'{"speed": 1}', headers=headers)
    for response in (refused, admin):
        error = assert_vendor_error(response, 415)
        assert "application/json" in error["message"]
    assert len(sb.created_task_ids) == created and sb.speed == INF


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd+json"]
)
def test_json_content_types_with_parameters_or_suffixes_pass(
    sb: Sandbox, content_type: str
) -> None:
    with api(sb) as client:
        response = client.post(
            CREATE,
            content=json.dumps(body_for(T2V)).encode(),
            headers={"Content-Type": content_type},
        )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "evil.example", "127.0.0.1:1", "localhost", "127.0.0.2:{port}"]
)
@pytest.mark.parametrize("path", [CREATE, "/v1/tasks/task-unified-1-abcdefgh", "/", "/files/x"])
def test_a_foreign_host_header_is_misdirected(sb: Sandbox, host: str, path: str) -> None:
    """DNS rebinding: a page at evil.example whose name now points at 127.0.0.1 gets nothing."""
    headers = {"Host": host.format(port=port_of(sb)), "Authorization": f"Bearer {sb.api_key}"}
    created = len(sb.created_task_ids)
    with httpx.Client(base_url=sb.base_url, trust_env=False) as client:
        method = "POST" if path == CREATE else "GET"
        response = client.request(method, path, json=body_for(T2V), headers=headers)
    error = assert_vendor_error(response, 421)
    assert error["code"] == "misdirected_request"
    assert len(sb.created_task_ids) == created


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LocalHost", "[::1]"])
def test_loopback_host_names_with_the_port_are_served(sb: Sandbox, name: str) -> None:
    headers = {"Host": f"{name}:{port_of(sb)}"}
    with api(sb) as client:
        assert client.post(CREATE, json=body_for(T2V), headers=headers).status_code == 200


def test_a_request_without_host_is_refused(sb: Sandbox) -> None:
    answer = exchange(sb, b"GET / HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"missing_host"' in answer


def test_allowed_hosts_add_names() -> None:
    with Sandbox(speed=INF, allowed_hosts=["studio.lan"]) as sb, api(sb) as client:
        port = port_of(sb)
        named = client.post(CREATE, json=body_for(T2V), headers={"Host": f"studio.lan:{port}"})
        other = client.post(CREATE, json=body_for(T2V), headers={"Host": f"other.lan:{port}"})
    assert named.status_code == 200
    assert named.json()["id"] and other.status_code == 421


def test_a_cors_preflight_is_not_granted(sb: Sandbox) -> None:
    headers = {
        "Origin": "http://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with httpx.Client(base_url=sb.base_url, trust_env=False) as client:
        response = client.options(CREATE, headers=headers)
    assert response.status_code == 405
    assert not any(name.startswith("access-control-") for name in response.headers)


# 3. A warning when listening beyond loopback.


def test_listening_on_all_interfaces_is_announced(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="omni_widgets.sandbox"):
        with Sandbox(host="0.0.0.0") as wide:
            assert wide.base_url.startswith("http://127.0.0.1:")
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        caplog.clear()
        with Sandbox():
            pass
        quiet = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "0.0.0.0" in warned[0] and "other machines" in warned[0]
    assert quiet == []


def test_the_cli_warns_on_stderr_when_not_on_loopback() -> None:
    with cli("--host", "0.0.0.0", "--speed", "inf") as (process, _):
        process.terminate()
        process.wait(10)
        assert process.stderr is not None
        assert "not a loopback address" in process.stderr.read()


# 4. Unguessable result URLs.


def test_result_urls_carry_a_random_token_and_need_it(sb: Sandbox) -> None:
    with api(sb) as client, raw(sb) as files:
        first, second = (
            client.post(CREATE, json=body_for(T2V, duration=3)).json()["id"] for _ in "12"
        )
        url = wait_terminal(client, first)["results"][0]
        other_url = wait_terminal(client, second)["results"][0]
        token = url.split("/")[-2]
        assert len(token) >= 22 and token != other_url.split("/")[-2]
        assert files.get(url).status_code == 200
        wrong = files.get(url.replace(token, other_url.split("/")[-2]))
        bare = files.get(f"/files/{first}.mp4")
        guessed = files.get(f"/files/{'A' * len(token)}/{first}.mp4")
    for response in (wrong, bare, guessed):
        assert response.status_code == 404
        assert "<Code>NoSuchKey</Code>" in response.text


# 5. Bodies over the limit.


def test_the_default_limit_admits_the_largest_valid_request() -> None:
    largest_image = len(base64.b64encode(b"\0" * MAX_IMAGE_BYTES)) + len("data:image/png;base64,")
    assert 6 * largest_image + 64 * 1024 < MAX_BODY <= 128 * 1024 * 1024


def test_a_declared_oversized_body_is_refused_before_it_is_sent(sb: Sandbox) -> None:
    """Only the headers go out: the 413 comes back without the server waiting for the body."""
    head = (
        f"POST {CREATE} HTTP/1.1\r\nHost: 127.0.0.1:{port_of(sb)}\r\n"
        f"Authorization: Bearer {sb.api_key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
    )
    answer = exchange(sb, head.encode())
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in rest.lower()
    error = json.loads(rest.partition(b"\r\n\r\n")[2])["error"]
    assert error["code"] == "request_too_large" and "4096 bytes" in error["message"]


@pytest.mark.parametrize("path", [CREATE, "/_sandbox/faults"])
def test_a_streamed_oversized_body_is_refused_without_reading_it_all(
    sb: Sandbox, path: str
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "gemini-omni-flash-text-to-video", "prompt": "'
        for _ in range(64):
            yield b"a" * 1024
        yield b'"}'

    created = len(sb.created_task_ids)
    with raw(sb) as client:
        response = client.post(path, content=chunks(), headers={"Content-Type": "application/json"})
    error = assert_vendor_error(response, 413)
    assert error["code"] == "request_too_large"
    assert len(sb.created_task_ids) == created


def test_a_body_at_the_limit_is_read(sb: Sandbox) -> None:
    body = json.dumps(body_for(T2V, prompt="x" * 3900)).encode()
    assert len(body) <= 4096
    with api(sb) as client:
        response = client.post(CREATE, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200


# 9. Keys: the command line accepts only its own; 405 says what is allowed.


def test_the_in_process_sandbox_accepts_any_key_by_default(sb: Sandbox) -> None:
    with api(sb, key="sk-anything") as client:
        assert client.post(CREATE, json=body_for(T2V)).status_code == 200


def test_a_strict_sandbox_accepts_only_its_key_and_the_special_ones() -> None:
    with Sandbox(speed=INF, any_key=False) as sb:
        with api(sb, key="sk-anything") as stranger:
            created = stranger.post(CREATE, json=body_for(T2V))
            queried = stranger.get("/v1/tasks/task-unified-1-abcdefgh")
        with api(sb) as owner, api(sb, key="sk-sandbox-402") as broke:
            ok = owner.post(CREATE, json=body_for(T2V))
            special = broke.post(CREATE, json=body_for(T2V))
    assert assert_vendor_error(created, 401)["message"] == "Invalid or expired token"
    assert assert_vendor_error(queried, 401)["message"] == "Authentication required"
    assert ok.status_code == 200 and special.status_code == SPECIAL_KEYS["sk-sandbox-402"]


def test_the_cli_accepts_only_the_key_it_prints() -> None:
    with cli("--speed", "inf") as (process, base_url):
        key = announced_key(process)
        assert re.fullmatch(r"sk-sandbox-[A-Za-z0-9_-]{32}", key)
        with httpx.Client(base_url=base_url, trust_env=False) as client:
            other = client.post(CREATE, json=body_for(T2V), headers={"Authorization": "Bearer x1"})
            demo = client.post(
                CREATE, json=body_for(T2V), headers={"Authorization": "Bearer sk-sandbox-demo"}
            )
            own = client.post(
                CREATE, json=body_for(T2V), headers={"Authorization": f"Bearer {key}"}
            )
    assert other.status_code == demo.status_code == 401
    assert own.status_code == 200


def test_the_cli_with_any_key_or_a_given_key() -> None:
    with cli("--speed", "inf", "--any-key", "--key", "sk-mine") as (process, base_url):
        assert announced_key(process) == "sk-mine"
        with httpx.Client(base_url=base_url, trust_env=False) as client:
            other = client.post(CREATE, json=body_for(T2V), headers={"Authorization": "Bearer x1"})
            admin = client.get("/_sandbox/log", headers={"Authorization": "Bearer x1"})
            own = client.get("/_sandbox/log", headers={"Authorization": "Bearer sk-mine"})
    assert other.status_code == 200
    assert (admin.status_code, own.status_code) == (401, 200)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", CREATE, {"POST"}),
        ("DELETE", "/v1/tasks/task-unified-1-abcdefgh", {"GET", "HEAD"}),
        ("PUT", "/_sandbox/log", {"GET", "HEAD", "DELETE"}),
        ("POST", "/files/x/task-unified-1-abcdefgh.mp4", {"GET", "HEAD"}),
    ],
)
def test_405_answers_carry_allow(sb: Sandbox, method: str, path: str, allow: set[str]) -> None:
    with raw(sb) as client:
        response = client.request(method, path, json={})
    error = assert_vendor_error(response, 405)
    assert error["code"] == "method_not_allowed"
    assert set(re.split(r",\s*", response.headers["allow"])) == allow


def test_a_post_without_body_or_type_gets_the_routes_400(sb: Sandbox) -> None:
    """Nothing to smuggle in an empty POST: the route answers it as the vendor would."""
    with raw(sb) as client:
        response = client.post(CREATE)
    error = assert_vendor_error(response, 400)
    assert "JSON" in error["message"]


def test_the_key_stays_out_of_reprs(sb: Sandbox) -> None:
    assert sb.api_key not in repr(sb)
    assert sb.api_key not in repr(sb._guard)
