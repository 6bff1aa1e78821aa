"""The client against a scripted service: errors, exact retry counts, polling, download."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from pathlib import Path
from typing import Any

import httpx
import pytest
from _mock import (
    BASE,
    KEY,
    MP4,
    Clock,
    Script,
    async_client,
    client,
    completed,
    created,
    error,
    task_body,
)

from omni_widgets import (
    APIError,
    AuthenticationError,
    DownloadError,
    InsufficientQuotaError,
    InvalidRequestError,
    MissingAPIKeyError,
    NotFoundError,
    OmniClient,
    OmniConnectionError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    RetryNotice,
    ServerError,
    Task,
    TaskFailedError,
    TextToVideo,
    URLExpiredError,
    ValidationError,
    WaitTimeoutError,
)

REQUEST = TextToVideo("a red kite over the sea", duration=6)
TID = "task-unified-1-abc"


# --- settings -------------------------------------------------------------------------------


def test_key_and_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OMNI_API_KEY", "EVOLINK_API_KEY", "OMNI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert OmniClient().base_url == "https://api.evolink.ai"
    assert OmniClient().settings.api_key is None
    monkeypatch.setenv("EVOLINK_API_KEY", "k-evo")
    assert OmniClient().settings.key_source == "EVOLINK_API_KEY"
    monkeypatch.setenv("OMNI_API_KEY", "k-omni")
    monkeypatch.setenv("OMNI_BASE_URL", "http://127.0.0.1:9/")
    c = OmniClient()
    assert (c.settings.key_source, c.base_url) == ("OMNI_API_KEY", "http://127.0.0.1:9")
    assert c.settings.api_key is not None and c.settings.api_key.reveal() == "k-omni"
    c = OmniClient("k-arg", "https://other.test")
    assert (c.settings.key_source, c.base_url) == ("argument", "https://other.test")


def test_missing_key_says_where_to_put_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNI_API_KEY", raising=False)
    monkeypatch.delenv("EVOLINK_API_KEY", raising=False)
    script = Script(posts=[created()])
    c = OmniClient(base_url=BASE, transport=httpx.MockTransport(script))
    with pytest.raises(MissingAPIKeyError, match="OMNI_API_KEY"):
        c.submit(REQUEST)
    assert script.sent == []


def test_the_key_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(
        posts=[error(401, "unauthorized", "Invalid or expired token")],
        gets=[httpx.ConnectError("refused")],
    )
    c = client(script, max_retries=1)
    seen = [repr(c), str(c.settings), repr(c.settings.api_key)]
    for call in (lambda: c.submit(REQUEST), lambda: c.get(TID)):
        with pytest.raises(Exception) as exc:
            call()
        seen.append("".join(traceback.format_exception(exc.value)))
    seen.append(caplog.text)
    assert script.sent[0].headers["Authorization"] == f"Bearer {KEY}"
    assert all(KEY not in text and "SECRET" not in text for text in seen)


def test_downloads_never_carry_the_key(tmp_path: Path) -> None:
    script = Script(downloads=[httpx.Response(200, content=MP4)])
    client(script).download(Task.from_json(completed().json()), tmp_path)
    assert "Authorization" not in script.sent[0].headers


# --- error mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status,cls",
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (402, InsufficientQuotaError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (418, APIError),
    ],
)
@pytest.mark.parametrize("code", ["some_code", 40001])
def test_http_errors_map_to_classes_and_are_not_retried(status: int, cls: type, code: Any) -> None:
    script = Script(gets=[error(status, code, "Bad thing\nhappened")])
    with pytest.raises(cls) as exc:
        client(script).get(TID)
    err = exc.value
    assert (err.status_code, err.code, err.task_id) == (status, str(code), TID)
    assert err.message == "Bad thing\nhappened" and err.type == "t"
    assert TID in str(err) and str(code) in str(err)
    assert script.count("GET") == 1


def test_error_without_json_body_still_reads() -> None:
    script = Script(gets=[httpx.Response(404, text="<html>nope</html>")])
    with pytest.raises(NotFoundError, match=r"404.*Not Found"):
        client(script).get(TID)


# --- retry rules ----------------------------------------------------------------------------


def test_two_429s_then_success_is_three_posts() -> None:
    notices: list[Any] = []
    script = Script(posts=[error(429), error(429), created()])
    task = client(script).submit(REQUEST, on_update=notices.append)
    assert task.id == TID and script.count("POST") == 3
    assert [n.attempt for n in notices] == [2, 3]
    assert notices[0].message.startswith("rate limited, retrying in")
    assert "attempt 2 of 6" in notices[0].message


def test_a_400_is_one_post() -> None:
    script = Script(posts=[error(400, "invalid_request", "Invalid request parameters")])
    with pytest.raises(InvalidRequestError):
        client(script).submit(REQUEST)
    assert script.count("POST") == 1


@pytest.mark.parametrize("status", [401, 402, 403])
def test_other_4xx_creates_are_one_post(status: int) -> None:
    script = Script(posts=[error(status)])
    with pytest.raises(APIError):
        client(script).submit(REQUEST)
    assert script.count("POST") == 1


def test_read_timeout_after_create_is_one_post_and_unknown_outcome() -> None:
    script = Script(posts=[httpx.ReadTimeout("slow")])
    with pytest.raises(OutcomeUnknownError) as exc:
        client(script).submit(REQUEST)
    assert script.count("POST") == 1
    assert "may have been created" in str(exc.value) and "not sent again" in str(exc.value)
    assert isinstance(exc.value, OmniConnectionError)


@pytest.mark.parametrize(
    "failure", [httpx.RemoteProtocolError("dropped"), httpx.ReadError("x"), httpx.WriteTimeout("w")]
)
def test_dropped_connection_after_sending_is_never_retried(failure: Exception) -> None:
    script = Script(posts=[failure, created()])
    with pytest.raises(OutcomeUnknownError):
        client(script).submit(REQUEST)
    assert script.count("POST") == 1


def test_malformed_create_answer_is_unknown_outcome_not_retried() -> None:
    script = Script(posts=[httpx.Response(200, text='{"id": "task-unif'), created()])
    with pytest.raises(OutcomeUnknownError, match="unreadable"):
        client(script).submit(REQUEST)
    assert script.count("POST") == 1


def test_connection_refused_before_sending_is_retried() -> None:
    script = Script(posts=[httpx.ConnectError("refused"), httpx.ConnectTimeout("t"), created()])
    assert client(script).submit(REQUEST).id == TID
    assert script.count("POST") == 3


def test_refused_create_says_no_task_was_created() -> None:
    script = Script(posts=[httpx.ConnectError("refused")])
    with pytest.raises(OmniConnectionError, match="no task was created") as exc:
        client(script, max_retries=2).submit(REQUEST)
    assert not isinstance(exc.value, OutcomeUnknownError)
    assert script.count("POST") == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_create_5xx_is_one_post_and_unknown_outcome(status: int) -> None:
    script = Script(posts=[error(status), created()])
    with pytest.raises(OutcomeUnknownError) as exc:
        client(script).submit(REQUEST)
    assert script.count("POST") == 1
    assert exc.value.task_id is None
    assert f"HTTP {status}" in str(exc.value) and "may be billed" in str(exc.value)
    assert "not sent again" in str(exc.value)


def test_redirected_create_is_not_followed_nor_sent_again() -> None:
    # Following a 307/308 would re-send the create's body: a second billed task.
    moved = httpx.Response(307, headers={"Location": f"{BASE}/elsewhere"})
    script = Script(posts=[moved, created()])
    with pytest.raises(OutcomeUnknownError):
        client(script).submit(REQUEST)
    assert script.count("POST") == 1


def test_create_5xx_naming_its_task_carries_the_id() -> None:
    script = Script(posts=[error(502, message=f"upstream failed after creating task {TID}")])
    with pytest.raises(OutcomeUnknownError) as exc:
        client(script).submit(REQUEST)
    assert script.count("POST") == 1
    assert exc.value.task_id == TID
    assert f"task {TID} may exist and may be billed" in str(exc.value)


def test_create_answer_with_a_hostile_id_is_unknown_outcome() -> None:
    script = Script(posts=[httpx.Response(200, json=task_body("../../_sandbox/log")), created()])
    with pytest.raises(OutcomeUnknownError, match="unreadable") as exc:
        client(script).submit(REQUEST)
    assert script.count("POST") == 1 and exc.value.task_id is None
    assert "../../_sandbox/log" in str(exc.value)


def test_cut_create_answer_gives_the_id_only_when_it_is_whole() -> None:
    text = json.dumps(task_body(TID))
    whole = text[: text.index(TID) + len(TID) + 1]  # cut just after the id's closing quote
    cut = text[: text.index(TID) + len(TID) - 1]  # cut inside the id
    for body, expected in ((whole, TID), (cut, None)):
        script = Script(posts=[httpx.Response(200, text=body)])
        with pytest.raises(OutcomeUnknownError) as exc:
            client(script).submit(REQUEST)
        assert exc.value.task_id == expected


@pytest.mark.parametrize(
    "bad",
    [
        "../../_sandbox/log",
        f"{TID}/../../_sandbox/log",
        "",
        f"{TID}\n",
        "task-unified-1-a b",
        "task-unified-\uff11-abc",
        "task-unified-1-abc?x=1",
        "%2e%2e",
    ],
)
def test_hostile_ids_are_refused_before_anything_is_sent(tmp_path: Path, bad: str) -> None:
    script = Script(gets=[completed()], downloads=[httpx.Response(200, content=MP4)])
    c = client(script)
    task = Task(id=bad, status="completed", video_url="https://cdn.test/v.mp4")
    calls = [lambda: c.get(bad), lambda: c.wait(bad), lambda: c.download(task, tmp_path)]
    for call in calls:
        with pytest.raises(ValidationError, match="task_id: ") as exc:
            call()
        assert repr(bad) in str(exc.value) and "task-unified-<digits>" in str(exc.value)
    assert script.sent == [] and list(tmp_path.iterdir()) == []


def test_query_answer_about_another_task_is_unreadable() -> None:
    script = Script(gets=[httpx.Response(200, json=task_body("task-unified-2-other"))])
    with pytest.raises(ServerError, match="another task") as exc:
        client(script, max_retries=1).get(TID)
    assert TID in str(exc.value) and script.count("GET") == 2


def test_query_answer_with_a_hostile_id_is_unreadable() -> None:
    script = Script(gets=[httpx.Response(200, json=task_body("../../etc"))])
    with pytest.raises(ServerError, match="unreadable"):
        client(script, max_retries=1).get(TID)


def test_429_gives_up_after_max_retries() -> None:
    script = Script(posts=[error(429)])
    with pytest.raises(RateLimitError):
        client(script, max_retries=3).submit(REQUEST)
    assert script.count("POST") == 4


def test_reads_retry_transient_failures() -> None:
    script = Script(
        gets=[
            error(500),
            httpx.ReadTimeout("t"),
            httpx.ConnectError("c"),
            error(429),
            httpx.Response(200, json=task_body()),
        ]
    )
    assert client(script).get(TID).status == "pending"
    assert script.count("GET") == 5


def test_read_retries_are_bounded() -> None:
    script = Script(gets=[error(503)])
    with pytest.raises(ServerError):
        client(script, max_retries=2).get(TID)
    assert script.count("GET") == 3


def test_backoff_is_exponential_with_full_jitter() -> None:
    clock = Clock()
    script = Script(gets=[error(500)] * 6 + [httpx.Response(200, json=task_body())])
    c = client(script, clock, max_retries=6)
    c._policy.rng = lambda: 1.0
    c.get(TID)
    assert clock.sleeps == [1, 2, 4, 8, 16, 30]
    clock.sleeps.clear()
    c._policy.rng = lambda: 0.5
    script.gets = [error(500), error(500), httpx.Response(200, json=task_body())]
    c.get(TID)
    assert clock.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("header,expected", [("7", 7.0), ("500", 120.0), ("0", 0.0)])
def test_retry_after_seconds_is_honoured_and_capped(header: str, expected: float) -> None:
    clock = Clock()
    script = Script(posts=[error(429, **{"Retry-After": header}), created()])
    client(script, clock).submit(REQUEST)
    assert clock.sleeps == [expected]


def test_retry_after_http_date_is_honoured() -> None:
    from email.utils import formatdate
    from time import time

    clock = Clock()
    date = formatdate(time() + 30, usegmt=True)
    script = Script(
        gets=[error(503, **{"Retry-After": date}), httpx.Response(200, json=task_body())]
    )
    client(script, clock).get(TID)
    assert 27 <= clock.sleeps[0] <= 30


# --- polling --------------------------------------------------------------------------------


def test_wait_polls_at_four_fifths_of_the_estimate_then_as_progress_says() -> None:
    clock = Clock()
    updates: list[Any] = []
    script = Script(
        posts=[created(estimated_time=40)],
        gets=[
            httpx.Response(200, json=task_body(status="processing", progress=10)),
            httpx.Response(200, json=task_body(status="processing", progress=10)),
            httpx.Response(200, json=task_body(status="processing", progress=70)),
            completed(),
        ],
    )
    c = client(script, clock, poll_interval=5)
    c._policy.rng = lambda: 0.5  # no jitter
    task = c.wait(c.submit(REQUEST), on_update=updates.append)
    assert task.status == "completed" and task.video_url == "https://cdn.test/v.mp4"
    # 0.8 x 40 s; then 10% in 32 s puts the end far off: steps of 10 s; then 10% -> 70% in
    # 10 s gives 3 points a second: the last running percentage is due 9.5 s later.
    assert clock.sleeps == pytest.approx([32, 10, 10, 9.5 + 0.1 + 0.25])
    assert [(u.status, u.progress) for u in updates] == [
        ("processing", 10),
        ("processing", 70),
        ("completed", 100),
    ]
    assert task.estimated_time == 40 and task.credits_reserved == 12.5
    assert task.request == REQUEST


def test_wait_never_polls_more_than_once_a_second() -> None:
    clock = Clock()
    script = Script(gets=[httpx.Response(200, json=task_body()), completed()])
    c = client(script, clock, poll_interval=0.01)
    c._policy.rng = lambda: 0.0  # the largest jitter downwards
    c.wait(TID)
    assert clock.sleeps == [1.0]


def test_a_failing_poll_does_not_end_the_wait() -> None:
    clock = Clock()
    updates: list[Any] = []
    script = Script(gets=[error(500), error(500), httpx.ConnectError("down"), completed()])
    task = client(script, clock, max_retries=1).wait(TID, on_update=updates.append)
    assert task.status == "completed"
    assert any(isinstance(u, RetryNotice) and "status check failed" in u.message for u in updates)


def test_wait_raises_task_failed_with_code_and_advice() -> None:
    body = task_body(
        status="failed",
        error={
            "code": "content_policy_violation",
            "message": "Content policy violation.\nBlocked.",
            "type": "task_error",
        },
    )
    script = Script(gets=[httpx.Response(200, json=body)])
    with pytest.raises(TaskFailedError) as exc:
        client(script).wait(TID)
    err = exc.value
    assert err.task.id == TID and err.code == "content_policy_violation"
    assert TID in str(err) and "resubmit" in err.advice and "\n" not in str(err)


def test_cancelled_is_terminal() -> None:
    script = Script(gets=[httpx.Response(200, json=task_body(status="cancelled"))])
    with pytest.raises(TaskFailedError, match="cancelled"):
        client(script).wait(TID)


def test_wait_timeout_carries_the_task() -> None:
    clock = Clock()
    script = Script(gets=[httpx.Response(200, json=task_body(status="processing", progress=30))])
    with pytest.raises(WaitTimeoutError) as exc:
        client(script, clock, poll_interval=4).wait(TID, timeout=10)
    assert exc.value.task.progress == 30 and TID in str(exc.value)
    assert sum(clock.sleeps) == pytest.approx(10)


def test_auth_failure_during_wait_names_the_task() -> None:
    script = Script(gets=[error(401, "unauthorized", "Authentication required")])
    with pytest.raises(AuthenticationError, match=TID):
        client(script).wait(TID)


def test_task_parsing_tolerates_missing_and_unknown_fields() -> None:
    task = Task.from_json(
        {
            "id": "task-unified-9",
            "status": "failed",
            "new_field": [1],
            "error": {"code": 500, "message": "x"},
            "progress": "n/a",
        }
    )
    assert (task.model, task.created, task.progress, task.error.code) == (None, None, 0, "500")
    assert task.is_terminal and task.raw["new_field"] == [1]
    with pytest.raises(ValueError):
        Task.from_json({"status": "pending"})


# --- download -------------------------------------------------------------------------------


def test_download_saves_checks_and_writes_sidecar(tmp_path: Path) -> None:
    script = Script(
        posts=[created()], gets=[completed()], downloads=[httpx.Response(200, content=MP4)]
    )
    c = client(script)
    result = c.generate(REQUEST, dest=tmp_path / "out")
    assert result.path == tmp_path / "out" / f"{TID}.mp4"
    assert result.path.read_bytes() == MP4
    sidecar = json.loads(result.path.with_suffix(".json").read_text())
    assert sidecar["task_id"] == TID and sidecar["credits_reserved"] == 12.5
    assert sidecar["request"]["prompt"] == REQUEST.prompt
    assert sidecar["source_url"] == "https://cdn.test/v.mp4" and sidecar["source_url_expires"]
    assert list((tmp_path / "out").glob("*.part")) == []
    assert c.download(result.task, tmp_path / "out") == result.path
    assert script.count("GET", "cdn.test") == 1
    html = result._repr_mimebundle_()["text/html"]
    assert "<video" in html and "data:video/mp4;base64," in html


def test_download_to_an_explicit_file(tmp_path: Path) -> None:
    script = Script(downloads=[httpx.Response(200, content=MP4)])
    path = client(script).download(Task.from_json(completed().json()), tmp_path / "kite.mp4")
    assert path == tmp_path / "kite.mp4" and (tmp_path / "kite.json").is_file()


@pytest.mark.parametrize(
    "response,words",
    [
        (httpx.Response(200, content=b""), "empty body"),
        (httpx.Response(200, content=b"<html>not a video</html>"), "not an MP4"),
        (httpx.Response(200, content=MP4, headers={"Content-Length": "9999"}), "cut"),
    ],
)
def test_bad_downloads_leave_nothing_behind(
    tmp_path: Path, response: httpx.Response, words: str
) -> None:
    script = Script(downloads=[response])
    with pytest.raises(DownloadError, match=words) as exc:
        client(script).download(Task.from_json(completed().json()), tmp_path)
    assert TID in str(exc.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("status", [403, 404, 410])
def test_expired_url_names_task_and_age(tmp_path: Path, status: int) -> None:
    script = Script(downloads=[httpx.Response(status, text="Request has expired")])
    task = Task.from_json(
        task_body(status="completed", progress=100, results=["https://cdn.test/v.mp4"])
    )
    with pytest.raises(URLExpiredError) as exc:
        client(script).download(task, tmp_path)
    assert TID in str(exc.value) and "h ago" in str(exc.value) and str(status) in str(exc.value)
    assert script.count("GET", "cdn.test") == 1


def test_download_retries_a_server_error(tmp_path: Path) -> None:
    script = Script(downloads=[error(503), httpx.Response(200, content=MP4)])
    path = client(script).download(Task.from_json(completed().json()), tmp_path)
    assert path.read_bytes() == MP4 and script.count("GET", "cdn.test") == 2


def test_download_of_unfinished_task_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="processing"):
        client(Script()).download(Task(id=TID, status="processing"), tmp_path)


def test_client_remembers_every_task() -> None:
    script = Script(posts=[created("task-unified-1-a"), created("task-unified-1-b")])
    c = client(script)
    c.submit(REQUEST)
    c.submit(REQUEST)
    assert [t.id for t in c.tasks] == ["task-unified-1-b", "task-unified-1-a"]


# --- async ----------------------------------------------------------------------------------


def test_async_client_has_the_same_behaviour(tmp_path: Path) -> None:
    async def main() -> tuple[Any, list[Task], Script]:
        script = Script(
            posts=[error(429), created()],
            gets=[
                httpx.Response(200, json=task_body(status="processing", progress=50)),
                completed(),
            ],
            downloads=[httpx.Response(200, content=MP4)],
        )
        async with async_client(script) as c:
            task = await c.submit(REQUEST)
            seen = [t async for t in c.watch(task)]
            path = await c.download(seen[-1], tmp_path)
        return path, seen, script

    path, seen, script = asyncio.run(main())
    assert path.read_bytes() == MP4
    assert [(t.status, t.progress) for t in seen] == [("processing", 50), ("completed", 100)]
    assert script.count("POST") == 2


def test_async_generate_and_errors() -> None:
    async def main() -> None:
        script = Script(posts=[httpx.ReadTimeout("t")])
        async with async_client(script) as c:
            with pytest.raises(OutcomeUnknownError):
                await c.generate(REQUEST)
        assert script.count("POST") == 1

    asyncio.run(main())


def test_async_watch_ends_with_a_failed_task() -> None:
    async def main() -> list[Task]:
        body = task_body(status="failed", error={"code": "service_error", "message": "x"})
        async with async_client(Script(gets=[httpx.Response(200, json=body)])) as c:
            return [t async for t in c.watch(TID)]

    seen = asyncio.run(main())
    assert [t.status for t in seen] == ["failed"]
