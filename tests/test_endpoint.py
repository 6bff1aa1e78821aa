"""Requests built from a client's fixed parts are the requests httpx itself would build."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _mock import BASE, KEY, Script, client, completed, task_body

from omni_widgets import MissingAPIKeyError, OmniClient
from omni_widgets.core.endpoint import Endpoint

HEADERS = {"Authorization": f"Bearer {KEY}", "Accept": "application/json", "User-Agent": "t/1"}
PATH = "/v1/tasks/task-unified-1-abc"


def as_httpx_builds(method: str, url: str, **body: Any) -> httpx.Request:
    return httpx.Request(method, url, headers=HEADERS, **body)


def test_a_query_is_the_request_httpx_would_build() -> None:
    ours = Endpoint(BASE, HEADERS, 30.0).request("GET", PATH)
    theirs = as_httpx_builds("GET", BASE + PATH)
    assert (ours.method, ours.url) == (theirs.method, theirs.url)
    assert ours.headers.raw == theirs.headers.raw  # the same names, values and order
    assert ours.content == theirs.content == b""


def test_a_create_is_the_request_httpx_would_build() -> None:
    body = {"model": "m", "prompt": "a cat"}
    ours = Endpoint(BASE, HEADERS, 30.0).request("POST", "/v1/videos/generations", json=body)
    theirs = as_httpx_builds("POST", BASE + "/v1/videos/generations", json=body)
    assert ours.headers.raw == theirs.headers.raw
    assert json.loads(ours.content) == body and ours.content == theirs.content


def test_a_post_without_a_body_still_says_its_length() -> None:
    ours = Endpoint(BASE, HEADERS, 30.0).request("POST", PATH)
    theirs = as_httpx_builds("POST", BASE + PATH)
    assert sorted(ours.headers.raw) == sorted(theirs.headers.raw)
    assert ours.headers["content-length"] == "0"


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:8123", "https://api.test:8443/prefix", "https://api.test"]
)
def test_ports_prefixes_and_escaped_paths_keep_their_form(base: str) -> None:
    path = "/v1/tasks/a%2F..%2Fb"
    ours = Endpoint(base, HEADERS, 30.0).request("GET", path)
    theirs = as_httpx_builds("GET", base + path)
    assert ours.url == theirs.url and ours.url.raw_path == theirs.url.raw_path
    assert ours.headers["host"] == theirs.headers["host"]


def test_each_request_has_its_own_url_and_headers() -> None:
    endpoint = Endpoint(BASE, HEADERS, 30.0)
    first, second = endpoint.request("GET", PATH), endpoint.request("GET", PATH)
    assert first.url == second.url
    assert endpoint.request("GET", PATH + "x").url == BASE + PATH + "x"
    first.headers["X-Extra"] = "1"
    assert "x-extra" not in second.headers
    assert "x-extra" not in endpoint.request("GET", PATH).headers


def test_the_key_stays_out_of_the_endpoint_repr() -> None:
    text = repr(Endpoint(BASE, HEADERS, 30.0))
    assert KEY not in text and BASE in text


def test_requests_carry_the_timeout_their_client_would_attach() -> None:
    seen: list[object] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return completed()

    script = Script(gets=[answer])
    with client(script, ledger=False, timeout=7.5) as omni:
        omni.get("task-unified-1-abc")
    with httpx.Client(timeout=7.5, transport=httpx.MockTransport(script)) as bare:
        bare.get(BASE + PATH)
    assert seen[0] == seen[1] == httpx.Timeout(7.5).as_dict()
    built = Endpoint(BASE, HEADERS, 7.5).request("GET", PATH)
    assert built.extensions["timeout"] == seen[0]  # set when built, not by httpx per send


def test_the_client_sends_its_requests_through_its_transport() -> None:
    script = Script(gets=[httpx.Response(200, json=task_body())])
    with client(script, ledger=False) as omni:
        omni.get("task-unified-1-abc")
        omni.get("task-unified-1-abc")
    assert [str(r.url) for r in script.sent] == [BASE + PATH] * 2
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in script.sent)
    assert all(r.headers["host"] == "api.test" for r in script.sent)


def test_a_client_without_a_key_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OMNI_API_KEY", "EVOLINK_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    script = Script(gets=[httpx.Response(200, json=task_body())])
    omni = OmniClient(None, BASE, transport=httpx.MockTransport(script), ledger=False)
    with omni, pytest.raises(MissingAPIKeyError):
        omni.get("task-unified-1-abc")
    assert script.sent == []
