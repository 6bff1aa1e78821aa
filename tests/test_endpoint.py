"""Requests built from a client's fixed parts are the requests httpx itself would build."""

from __future__ import annotations

import json

import httpx
import pytest
from _mock import BASE, KEY, Script, client, task_body

from omni_widgets import MissingAPIKeyError, OmniClient
from omni_widgets.core.endpoint import Endpoint

HEADERS = {"Authorization": f"Bearer {KEY}", "Accept": "application/json", "User-Agent": "t/1"}
PATH = "/v1/tasks/task-unified-1-abc"


def as_httpx_builds(method: str, url: str, **body: object) -> httpx.Request:
    return httpx.Request(method, url, headers=HEADERS, **body)  # type: ignore[arg-type]


def test_a_query_is_the_request_httpx_would_build() -> None:
    ours = Endpoint(BASE, HEADERS).request("GET", PATH)
    theirs = as_httpx_builds("GET", BASE + PATH)
    assert (ours.method, ours.url) == (theirs.method, theirs.url)
    assert ours.headers.raw == theirs.headers.raw  # the same names, values and order
    assert ours.content == theirs.content == b""


def test_a_create_is_the_request_httpx_would_build() -> None:
    body = {"model": "m", "prompt": "a cat"}
    ours = Endpoint(BASE, HEADERS).request("POST", "/v1/videos/generations", json=body)
    theirs = as_httpx_builds("POST", BASE + "/v1/videos/generations", json=body)
    assert ours.headers.raw == theirs.headers.raw
    assert json.loads(ours.content) == body and ours.content == theirs.content


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:8123", "https://api.test:8443/prefix", "https://api.test"]
)
def test_ports_prefixes_and_escaped_paths_keep_their_form(base: str) -> None:
    path = "/v1/tasks/a%2F..%2Fb"
    ours = Endpoint(base, HEADERS).request("GET", path)
    theirs = as_httpx_builds("GET", base + path)
    assert ours.url == theirs.url and ours.url.raw_path == theirs.url.raw_path
    assert ours.headers["host"] == theirs.headers["host"]


def test_each_request_has_its_own_url_and_headers() -> None:
    endpoint = Endpoint(BASE, HEADERS)
    first, second = endpoint.request("GET", PATH), endpoint.request("GET", PATH)
    assert first.url == second.url
    assert endpoint.request("GET", PATH + "x").url == BASE + PATH + "x"
    first.headers["X-Extra"] = "1"
    assert "x-extra" not in second.headers
    assert "x-extra" not in endpoint.request("GET", PATH).headers


def test_the_key_stays_out_of_the_endpoint_repr() -> None:
    assert KEY not in repr(Endpoint(BASE, HEADERS)) and BASE in repr(Endpoint(BASE, HEADERS))


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
