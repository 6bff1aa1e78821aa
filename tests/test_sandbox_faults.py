"""Misbehaviour on demand: every fault kind, counted exactly, on the endpoints chosen, from Python
and from the admin endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from test_sandbox_support import CREATE, INF, T2V, api, body_for, documented_error, raw

from omni_widgets.sandbox import Fault, Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=INF, seed=21) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.faults.clear()
    sandbox.reset_log()
    yield sandbox
    sandbox.faults.clear()


@pytest.fixture
def task_id(sb: Sandbox) -> str:
    with api(sb) as client:
        created: str = client.post(CREATE, json=body_for(T2V)).json()["id"]
    sb.reset_log()
    return created


def statuses(sb: Sandbox, method: str | None = None) -> list[int]:
    return [r.status for r in sb.requests if method is None or r.method == method]


def test_nothing_misbehaves_by_default(sb: Sandbox, task_id: str) -> None:
    with api(sb) as client:
        codes = [client.get(f"/v1/tasks/{task_id}").status_code for _ in range(30)]
    assert codes == [200] * 30


def test_rate_limit_the_next_two_creates_with_retry_after(sb: Sandbox) -> None:
    rule = sb.faults.rate_limit(on="create", count=2, retry_after=3)
    with api(sb) as client:
        responses = [client.post(CREATE, json=body_for(T2V)) for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert [r.headers.get("retry-after") for r in responses] == ["3", "3", None]
    assert responses[0].json() == documented_error("create", 429, T2V)
    assert len(sb.created_task_ids) == 1
    assert statuses(sb) == [429, 429, 200]
    assert (rule.fired, rule.active) == (2, False)


def test_rate_limit_on_queries_leaves_creates_alone(sb: Sandbox, task_id: str) -> None:
    sb.faults.rate_limit(on="query", count=1)
    with api(sb) as client:
        create = client.post(CREATE, json=body_for(T2V))
        first = client.get(f"/v1/tasks/{task_id}")
        second = client.get(f"/v1/tasks/{task_id}")
    assert create.status_code == 200
    assert (first.status_code, first.json()) == (429, documented_error("query", 429))
    assert "retry-after" not in first.headers
    assert second.status_code == 200


def test_every_third_request(sb: Sandbox, task_id: str) -> None:
    sb.faults.server_error(on="query", every=3)
    with api(sb) as client:
        codes = [client.get(f"/v1/tasks/{task_id}").status_code for _ in range(9)]
    assert codes == [200, 200, 500] * 3


def test_server_error_bodies_follow_the_vendor(sb: Sandbox, task_id: str) -> None:
    sb.faults.server_error(count=2)  # on both
    with api(sb) as client:
        create = client.post(CREATE, json=body_for(T2V))
        query = client.get(f"/v1/tasks/{task_id}")
        after = client.get(f"/v1/tasks/{task_id}")
    assert (create.status_code, create.json()) == (500, documented_error("create", 500, T2V))
    assert (query.status_code, query.json()) == (500, documented_error("query", 500))
    assert after.status_code == 200
    assert sb.created_task_ids == []


def test_a_fraction_of_requests_is_reproducible_with_a_seed(task_id: str) -> None:
    def run() -> list[int]:
        with Sandbox(speed=INF, seed=99) as sandbox, api(sandbox) as client:
            owned = client.post(CREATE, json=body_for(T2V)).json()["id"]
            sandbox.faults.rate_limit(on="query", rate=0.3)
            return [client.get(f"/v1/tasks/{owned}").status_code for _ in range(60)]

    first, second = run(), run()
    assert first == second
    assert 8 <= first.count(429) <= 30
    assert set(first) == {200, 429}


def test_latency_slows_only_the_chosen_endpoint(sb: Sandbox, task_id: str) -> None:
    sb.faults.latency(0.4, on="query", count=1)
    with api(sb) as client:
        start = time.monotonic()
        client.post(CREATE, json=body_for(T2V))
        create_time = time.monotonic() - start
        start = time.monotonic()
        slow = client.get(f"/v1/tasks/{task_id}")
        slow_time = time.monotonic() - start
        start = time.monotonic()
        client.get(f"/v1/tasks/{task_id}")
        fast_time = time.monotonic() - start
    assert slow.status_code == 200
    assert slow_time >= 0.4
    assert create_time < 0.3 and fast_time < 0.3


def test_latency_combines_with_an_outcome_fault(sb: Sandbox, task_id: str) -> None:
    sb.faults.latency(0.3, on="query", count=1)
    sb.faults.rate_limit(on="query", count=1)
    with api(sb) as client:
        start = time.monotonic()
        response = client.get(f"/v1/tasks/{task_id}")
    assert response.status_code == 429
    assert time.monotonic() - start >= 0.3


def test_dropped_connection_gets_no_response_and_creates_nothing(sb: Sandbox) -> None:
    rule = sb.faults.drop(on="create", count=1)
    with api(sb) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post(CREATE, json=body_for(T2V))
        retried = client.post(CREATE, json=body_for(T2V))
    assert retried.status_code == 200
    assert sb.created_task_ids == [retried.json()["id"]]
    assert statuses(sb) == [0, 200]
    assert rule.fired == 1


def test_drop_after_processing_creates_the_task_but_loses_the_reply(sb: Sandbox) -> None:
    sb.faults.drop(on="create", count=1, after=True)
    with api(sb) as client, pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post(CREATE, json=body_for(T2V))
    assert len(sb.created_task_ids) == 1
    assert statuses(sb) == [0]
    with api(sb) as client:
        assert client.get(f"/v1/tasks/{sb.created_task_ids[0]}").json()["status"] == "completed"


def test_dropped_connection_on_a_raw_socket_sees_no_bytes(sb: Sandbox) -> None:
    import socket

    sb.faults.drop(on="query", count=1)
    host, port = sb.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        request = f"GET /v1/tasks/task-unified-1-abcdefgh HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n"
        conn.sendall(request.encode())
        assert conn.recv(1024) == b""


def test_truncated_json_keeps_the_status_and_creates_the_task(sb: Sandbox) -> None:
    sb.faults.malformed(on="create", count=1)
    with raw(sb) as client:
        garbled = client.post(CREATE, json=body_for(T2V))
        fine = client.post(CREATE, json=body_for(T2V))
    assert garbled.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(garbled.content)
    assert fine.content.startswith(garbled.content[:20])
    assert int(garbled.headers["content-length"]) == len(garbled.content)
    assert len(sb.created_task_ids) == 2


def test_non_json_body(sb: Sandbox, task_id: str) -> None:
    sb.faults.malformed(on="query", count=1, body="text")
    with raw(sb) as client:
        response = client.get(f"/v1/tasks/{task_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_download_faults(sb: Sandbox, task_id: str) -> None:
    with api(sb) as client:
        url = client.get(f"/v1/tasks/{task_id}").json()["results"][0]
    sb.faults.server_error(on="download", count=1)
    sb.faults.malformed(on="download", count=1)
    with raw(sb) as files:
        failed = files.get(url)
        truncated = files.get(url)
        whole = files.get(url)
    assert failed.status_code == 500 and "<Code>InternalError</Code>" in failed.text
    assert truncated.status_code == 200
    assert 0 < len(truncated.content) < len(whole.content)
    assert whole.content.startswith(truncated.content)


def test_truncated_and_html_downloads(sb: Sandbox, task_id: str) -> None:
    with api(sb) as client:
        url = client.get(f"/v1/tasks/{task_id}").json()["results"][0]
    sb.faults.truncate(count=1)
    sb.faults.truncate(count=1, content_length=False)
    sb.faults.html(count=1)
    with raw(sb) as files:
        cut, cut_unsized, page, whole = (files.get(url) for _ in range(4))
    assert [r.status_code for r in (cut, cut_unsized, page, whole)] == [200] * 4
    for response in (cut, cut_unsized):
        assert response.content == whole.content[: len(whole.content) // 2]
    assert cut.headers["content-length"] == str(len(cut.content))
    assert "content-length" not in cut_unsized.headers
    assert page.headers["content-type"].startswith("text/html") and b"<html>" in page.content


def test_server_error_after_creating_names_the_task(sb: Sandbox) -> None:
    rule = sb.faults.server_error(on="create", count=1, after=True)
    with api(sb) as client:
        failed = client.post(CREATE, json=body_for(T2V))
    assert failed.status_code == 500 and rule.fired == 1
    assert len(sb.created_task_ids) == 1
    assert failed.json()["error"]["code"] == "internal_error"
    assert sb.created_task_ids[0] in failed.json()["error"]["message"]


def test_html_on_create_never_reaches_the_service(sb: Sandbox) -> None:
    sb.faults.html(on="create", count=1)
    with raw(sb) as client:
        page = client.post(CREATE, json=body_for(T2V))
    assert page.status_code == 200 and page.text.startswith("<!DOCTYPE html>")
    assert sb.created_task_ids == []


def test_api_faults_do_not_touch_downloads(sb: Sandbox, task_id: str) -> None:
    with api(sb) as client:
        url = client.get(f"/v1/tasks/{task_id}").json()["results"][0]
    sb.faults.server_error()  # both = create and query
    with raw(sb) as files:
        assert files.get(url).status_code == 200


def test_first_matching_rule_wins_and_others_do_not_count(sb: Sandbox, task_id: str) -> None:
    limit = sb.faults.rate_limit(on="query", count=1)
    error = sb.faults.server_error(on="query", count=1)
    with api(sb) as client:
        codes = [client.get(f"/v1/tasks/{task_id}").status_code for _ in range(3)]
    assert codes == [429, 500, 200]
    assert (limit.fired, error.fired) == (1, 1)
    assert (limit.seen, error.seen) == (1, 1)  # the 429 hid request 1 from the second rule


def test_admin_endpoint_adds_lists_and_clears_faults(sb: Sandbox) -> None:
    with raw(sb) as admin, api(sb) as client:
        added = admin.post(
            "/_sandbox/faults", json={"kind": "rate_limit", "on": "create", "count": 1}
        )
        assert added.status_code == 200
        assert client.post(CREATE, json=body_for(T2V)).status_code == 429
        listed = admin.get("/_sandbox/faults").json()["faults"]
        assert [(f["kind"], f["fired"], f["active"]) for f in listed] == [("rate_limit", 1, False)]
        admin.post("/_sandbox/faults", json=[{"kind": "server_error", "on": "create"}])
        assert client.post(CREATE, json=body_for(T2V)).status_code == 500
        assert admin.delete("/_sandbox/faults").json() == {"faults": []}
        assert client.post(CREATE, json=body_for(T2V)).status_code == 200
        admin.post("/_sandbox/faults", json={"kind": "truncate", "on": "create", "count": 1})
        with raw(sb) as unchecked:
            assert unchecked.post(CREATE, json=body_for(T2V)).text.startswith('{"')
        admin.delete("/_sandbox/faults")
        bad = admin.post("/_sandbox/faults", json={"kind": "explode"})
        log = admin.get("/_sandbox/log").json()
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["message"]
    assert [r["status"] for r in log["requests"]] == [429, 500, 200, 200]
    assert len(log["created_task_ids"]) == 2  # the truncated answer's task was made too
    assert sb.faults.rules == []


def test_admin_config_changes_speed(sb: Sandbox) -> None:
    with raw(sb) as admin:
        assert admin.post("/_sandbox/config", json={"speed": 2.5}).json()["speed"] == 2.5
        assert sb.speed == 2.5
        assert admin.post("/_sandbox/config", json={"speed": "inf"}).json()["speed"] == "inf"
        assert admin.post("/_sandbox/config", json={"colour": 1}).status_code == 400
    assert sb.speed == INF


def test_faults_given_at_construction() -> None:
    rule = Fault("rate_limit", on="create", count=1)
    with Sandbox(speed=INF, faults=[rule]) as sandbox, api(sandbox) as client:
        codes = [client.post(CREATE, json=body_for(T2V)).status_code for _ in range(2)]
    assert codes == [429, 200]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "rate_limit:on=create,count=2,retry_after=1",
            Fault("rate_limit", "create", 2, retry_after=1),
        ),
        ("server_error:every=5", Fault("server_error", every=5)),
        ("latency:seconds=0.5,on=query", Fault("latency", "query", seconds=0.5)),
        ("drop:after=true,rate=0.25", Fault("drop", rate=0.25, after=True)),
        ("malformed:body=text", Fault("malformed", body="text")),
        ("server_error:on=create,after=true", Fault("server_error", "create", after=True)),
        (
            "truncate:on=download,content_length=false",
            Fault("truncate", "download", content_length=False),
        ),
        ("html:on=download,every=3", Fault("html", "download", every=3)),
    ],
)
def test_fault_specs_parse(spec: str, expected: Fault) -> None:
    assert Fault.parse(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "explode",
        "rate_limit:count=0",
        "rate_limit:count=1,every=2",
        "rate_limit:rate=2",
        "latency",
        "rate_limit:on=nowhere",
        "rate_limit:colour=red",
        "rate_limit:count",
        "malformed:body=html",
        "truncate:content_length=maybe",
        "server_error:after=1",
    ],
)
def test_bad_fault_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        Fault.parse(spec)
