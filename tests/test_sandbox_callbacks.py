"""Callbacks: the task-query body POSTed on completion or failure, retried on the vendor's schedule,
and only to loopback addresses when the sandbox is told to allow them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from _contract import EVOLINK
from test_sandbox_support import (
    CREATE,
    INF,
    T2V,
    Receiver,
    api,
    body_for,
    receiver,
)

from omni_widgets.sandbox import CallbackAttempt, Sandbox


def attempts_to(sb: Sandbox, url: str, count: int) -> list[CallbackAttempt]:
    """The sandbox's attempts to `url`, once `count` are logged (it logs after the reply)."""
    deadline = time.monotonic() + 10
    while True:
        attempts = [a for a in sb.callback_attempts if a.url == url]
        if len(attempts) >= count or time.monotonic() > deadline:
            return attempts
        time.sleep(0.02)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(speed=INF, seed=31, allow_loopback_callbacks=True) as sandbox:
        yield sandbox


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.fixture
def flaky_hook() -> Iterator[Receiver]:
    with receiver([500, 503]) as r:
        yield r


def test_completion_is_posted_once_with_the_query_body(sb: Sandbox, hook: Receiver) -> None:
    with api(sb) as client:
        task_id = client.post(CREATE, json=body_for(T2V, duration=3, callback_url=hook.url)).json()[
            "id"
        ]
        hook.wait_for(1)
        queried = client.get(f"/v1/tasks/{task_id}").json()
    (_, path, payload) = hook.hits[0]
    assert path == "/hook"
    assert payload == queried
    assert payload["status"] == "completed"
    EVOLINK.validator("query-response.json").validate(payload)
    with httpx.Client(trust_env=False) as files:
        assert files.get(payload["results"][0]).headers["content-type"] == "video/mp4"
    assert len(hook.hits) == 1


def test_failure_is_posted_too(sb: Sandbox, hook: Receiver) -> None:
    body = body_for(T2V, prompt="[[fail:generation_timeout]] slow", callback_url=hook.url)
    with api(sb) as client:
        client.post(CREATE, json=body)
    hook.wait_for(1)
    payload = hook.hits[0][2]
    assert payload["status"] == "failed"
    assert payload["error"]["code"] == "generation_timeout"


def test_callback_waits_for_the_task_to_finish(hook: Receiver) -> None:
    with Sandbox(speed=100, seed=32, allow_loopback_callbacks=True) as slow, api(slow) as client:
        created = client.post(CREATE, json=body_for(T2V, duration=3, callback_url=hook.url)).json()
        first = client.get(f"/v1/tasks/{created['id']}").json()
        hook.wait_for(1)
        arrived = hook.hits[0][0]
        task = slow._state.tasks.get(created["id"])
    assert first["status"] in ("pending", "processing")
    assert task is not None
    assert arrived >= task.finishes_at
    assert hook.hits[0][2]["status"] == "completed"


@pytest.mark.slow  # waits out the vendor's real retry delays
def test_failed_deliveries_are_retried_after_1_and_2_seconds(
    sb: Sandbox, flaky_hook: Receiver
) -> None:
    with api(sb) as client:
        client.post(CREATE, json=body_for(T2V, duration=3, callback_url=flaky_hook.url))
    flaky_hook.wait_for(3, timeout=10)
    times = [at for at, _, _ in flaky_hook.hits]
    assert 0.95 <= times[1] - times[0] <= 2.0
    assert 1.95 <= times[2] - times[1] <= 3.0
    attempts = attempts_to(sb, flaky_hook.url, 3)
    assert [(a.attempt, a.status) for a in attempts] == [(1, 500), (2, 503), (3, 200)]
    assert flaky_hook.hits[0][2] == flaky_hook.hits[2][2]


@pytest.mark.slow  # waits out the vendor's real retry delays
def test_delivery_gives_up_after_three_retries() -> None:
    quick_retries = (0.05, 0.1, 0.2)
    with (
        receiver([500] * 10) as hook,
        Sandbox(
            speed=INF, allow_loopback_callbacks=True, callback_retry_delays=quick_retries
        ) as quick,
        api(quick) as client,
    ):
        client.post(CREATE, json=body_for(T2V, duration=3, callback_url=hook.url))
        hook.wait_for(4)
        time.sleep(0.6)  # room for a fifth attempt, which must not come
        attempts = attempts_to(quick, hook.url, 4)
    assert len(hook.hits) == 4
    assert [(a.attempt, a.status) for a in attempts] == [(1, 500), (2, 500), (3, 500), (4, 500)]


def test_unreachable_receiver_is_recorded_as_an_error() -> None:
    with (
        Sandbox(
            speed=INF, allow_loopback_callbacks=True, callback_retry_delays=(0.01, 0.01, 0.01)
        ) as quick,
        api(quick) as client,
    ):
        client.post(CREATE, json=body_for(T2V, duration=3, callback_url="http://127.0.0.1:9/x"))
        attempts = attempts_to(quick, "http://127.0.0.1:9/x", 4)
    assert len(attempts) == 4
    assert all(a.status is None and a.error and "Connect" in a.error for a in attempts)


def test_loopback_callbacks_are_refused_unless_allowed(hook: Receiver) -> None:
    with Sandbox(speed=INF) as strict, api(strict) as client:
        response = client.post(CREATE, json=body_for(T2V, callback_url=hook.url))
        https = client.post(CREATE, json=body_for(T2V, callback_url="https://127.0.0.1/x"))
    for refused in (response, https):
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "callback_url"
    assert hook.hits == []


def test_no_callback_without_callback_url(sb: Sandbox) -> None:
    before = len(sb.callback_attempts)
    with api(sb) as client:
        client.post(CREATE, json=body_for(T2V, duration=3))
    assert len(sb.callback_attempts) == before


class FakeDNS:
    """Stands in for name resolution: each name answers its scripted address lists in turn."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        script = self.answers.get(host, [[]])
        return script.pop(0) if len(script) > 1 else script[0]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS({})
    monkeypatch.setattr("omni_widgets.sandbox._callbacks.resolve", fake)
    return fake


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["10.1.2.3"],
        ["192.168.1.20"],
        ["169.254.169.254"],  # cloud metadata
        ["::1"],
        ["fe80::1"],
        ["fd00::5"],
        ["240.0.0.1"],  # reserved
        ["0.0.0.0"],
        ["93.184.216.34", "10.0.0.1"],  # one internal answer among public ones is enough
    ],
)
def test_a_name_resolving_to_an_internal_address_is_refused(
    dns: FakeDNS, addresses: list[str]
) -> None:
    dns.answers["hooks.example"] = [addresses]
    with Sandbox(speed=INF) as strict, api(strict) as client:
        response = client.post(CREATE, json=body_for(T2V, callback_url="https://hooks.example/cb"))
        created = strict.created_task_ids
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "callback_url"
    assert "hooks.example" in error["message"] and addresses[-1] in error["message"]
    assert created == [] and dns.asked == ["hooks.example"]


@pytest.mark.parametrize("addresses", [["93.184.216.34"], []])
def test_public_or_unresolvable_names_are_accepted(dns: FakeDNS, addresses: list[str]) -> None:
    """An unresolvable name is accepted, as the vendor would; its delivery then fails."""
    dns.answers["hooks.example"] = [addresses]
    with Sandbox(speed=1.0) as sb, api(sb) as client:
        response = client.post(CREATE, json=body_for(T2V, callback_url="https://hooks.example/cb"))
    assert response.status_code == 200


def test_delivery_goes_to_the_address_that_was_checked(dns: FakeDNS, hook: Receiver) -> None:
    """The POST connects to the resolved address and names the host, so a name cannot be
    resolved once for the check and again, differently, for the connection."""
    port = int(hook.url.rsplit(":", 1)[1].split("/")[0])
    dns.answers["hooks.test"] = [["127.0.0.1"]]
    url = f"http://hooks.test:{port}/hook"
    with Sandbox(speed=INF, allow_loopback_callbacks=True) as sb, api(sb) as client:
        client.post(CREATE, json=body_for(T2V, duration=3, callback_url=url))
        hook.wait_for(1)
        (attempt,) = attempts_to(sb, url, 1)
    assert hook.hosts == [f"hooks.test:{port}"]
    assert attempt.status == 200 and attempt.url == url
    assert dns.asked == ["hooks.test", "hooks.test"]  # at create, then at delivery


def test_a_name_rebound_to_an_internal_address_before_delivery_is_not_called(
    dns: FakeDNS,
) -> None:
    dns.answers["hooks.example"] = [["93.184.216.34"], ["10.0.0.7"]]
    url = "https://hooks.example/cb"
    with Sandbox(speed=INF) as sb, api(sb) as client:
        assert client.post(CREATE, json=body_for(T2V, callback_url=url)).status_code == 200
        attempts = attempts_to(sb, url, 1)
        time.sleep(0.2)  # a retry, were there one, would follow within the vendor's 1 s...
        later = attempts_to(sb, url, 1)
    (attempt,) = attempts
    assert attempt.status is None and attempt.error is not None
    assert attempt.error.startswith("refused:") and "10.0.0.7" in attempt.error
    assert later == attempts


@pytest.mark.parametrize("addresses", [["93.184.216.34"], [], ["127.0.0.1", "93.184.216.34"]])
def test_plain_http_needs_a_name_resolving_to_loopback_only_even_when_allowed(
    dns: FakeDNS, addresses: list[str]
) -> None:
    dns.answers["hooks.example"] = [addresses]
    with Sandbox(speed=INF, allow_loopback_callbacks=True) as sb, api(sb) as client:
        response = client.post(CREATE, json=body_for(T2V, callback_url="http://hooks.example/cb"))
    assert response.status_code == 400
    assert "must use https" in response.json()["error"]["message"]
