"""Gateways: choosing one, its limits (checked before anything is sent), its bodies against our
schemas of it, its answers parsed into the one task model, and its error table's retry rules."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from _contract import gateway as schemas
from _mock import BASE, KEY, MP4, Script, async_client, client, error

from omni_widgets import (
    GATEWAYS,
    AuthenticationError,
    ContentPolicyError,
    ImageToVideo,
    InsufficientQuotaError,
    NotFoundError,
    OmniClient,
    OutcomeUnknownError,
    ReferenceToVideo,
    Request,
    TextToVideo,
    ValidationError,
    VideoEdit,
    get_gateway,
)
from omni_widgets.core.ids import file_stem
from omni_widgets.gateways import EVOLINK, TOAPIS

TID = "video_01JABCDEF0123456789XYZ"
URLS = [f"https://img.test/{i}.png" for i in range(3)]


def toapis_created(task_id: str = TID, **extra: Any) -> httpx.Response:
    body = {
        "id": task_id,
        "object": "generation.task",
        "model": "gemini_omni_flash",
        "status": "queued",
        "created_at": 1779247407,
    }
    return httpx.Response(200, json={**body, **extra})


def toapis_task(status: str, task_id: str = TID, **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "id": task_id,
        "object": "generation.task",
        "model": "gemini_omni_flash",
        "status": status,
        "progress": 100 if status == "completed" else 40,
        "created_at": 1778569600,
    }
    if status == "completed":
        body |= {
            "completed_at": 1778569900,
            "expires_at": 1778656300,
            "result": {"type": "video", "data": [{"url": "https://files.test/x.mp4"}]},
        }
    return httpx.Response(200, json={**body, **extra})


# --- choosing a gateway ---------------------------------------------------------------------


def test_registry_names_both_gateways_and_defaults_to_evolink(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OMNI_GATEWAY", raising=False)
    assert set(GATEWAYS) == {"evolink", "toapis"}
    assert get_gateway(None) is EVOLINK
    assert get_gateway("ToAPIs") is TOAPIS
    monkeypatch.setenv("OMNI_GATEWAY", "toapis")
    assert get_gateway(None) is TOAPIS
    assert OmniClient(KEY).gateway is TOAPIS


def test_an_unknown_gateway_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="'nope' is unknown; allowed: one of 'evolink'"):
        OmniClient(KEY, gateway="nope")


def test_each_gateway_reads_its_own_key_variable_and_default_base_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OMNI_API_KEY", "EVOLINK_API_KEY", "TOAPIS_API_KEY", "OMNI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EVOLINK_API_KEY", "evolink-key-0001")
    toapis = OmniClient(gateway="toapis")
    assert toapis.settings.api_key is None  # an EvoLink key is never sent to ToAPIs
    assert toapis.base_url == "https://toapis.com"
    monkeypatch.setenv("TOAPIS_API_KEY", "toapis-key-0002")
    toapis = OmniClient(gateway="toapis")
    assert toapis.settings.key_source == "TOAPIS_API_KEY"
    assert toapis.settings.api_key is not None
    assert toapis.settings.api_key.reveal() == "toapis-key-0002"
    evolink = OmniClient(gateway="evolink")
    assert evolink.settings.key_source == "EVOLINK_API_KEY"
    assert evolink.base_url == "https://api.evolink.ai"
    assert "gateway='toapis'" in repr(toapis) and "toapis-key" not in repr(toapis)


# --- limits: refused before anything is sent -------------------------------------------------


REFUSED_ON_TOAPIS = [
    (TextToVideo("a kite", duration=5), "duration: 5 is not accepted; allowed: 6 or 10 on toapis"),
    (TextToVideo("a kite", duration="auto"), "'auto' is not offered; allowed: 6 or 10 on toapis"),
    (TextToVideo("a kite", duration=6, aspect_ratio="auto"), "'16:9' or '9:16' on toapis"),
    (
        TextToVideo("a kite", duration=6, aspect_ratio="9:16", resolution="1080p"),
        "resolution: with 9:16; allowed: 1080p only with 16:9 on toapis",
    ),
    (TextToVideo("a kite", duration=6, resolution="4K"), "'720P' or '1080p' on toapis"),
    (
        ReferenceToVideo("a kite", URLS[:2], duration=6),
        "2 images given; allowed: 3 images (1 image is image-to-video; 2 are refused) on toapis",
    ),
    (ReferenceToVideo("a kite", URLS[:1], duration=6), "1 image given; allowed: 3 images"),
    (
        TextToVideo("a kite", duration=6, callback_url="https://hooks.example.com/x"),
        "callback_url: 'https://hooks.example.com/x' is not accepted; allowed: not offered",
    ),
]


@pytest.mark.parametrize(("request_", "message"), REFUSED_ON_TOAPIS)
def test_toapis_limits_refuse_before_sending(request_: Request, message: str) -> None:
    script = Script(posts=[toapis_created()])
    with pytest.raises(ValidationError, match="on toapis") as exc:
        client(script, gateway="toapis").submit(request_)
    assert message in str(exc.value)
    assert script.sent == []


def test_generate_refuses_before_its_progress_line_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    reporters: list[str] = []
    monkeypatch.setattr(
        "omni_widgets.core.client.default_reporter", lambda: reporters.append("made") or None
    )
    script = Script(posts=[toapis_created()])
    with pytest.raises(ValidationError, match="on toapis"):
        client(script, gateway="toapis").generate(TextToVideo("a kite", duration=4))
    assert reporters == [] and script.sent == []


def test_a_local_image_is_refused_on_toapis_with_the_reason(tmp_path: Any) -> None:
    from _mock import png

    path = tmp_path / "kite.png"
    path.write_bytes(png())
    script = Script(posts=[toapis_created()])
    with pytest.raises(ValidationError) as exc:
        client(script, gateway="toapis").submit(ImageToVideo("a kite", path, duration=6))
    assert "image: a local file or inline image data; allowed: an http(s) URL" in str(exc.value)
    assert "upload a local image" in str(exc.value)
    assert script.sent == []


def test_resolution_is_refused_on_evolink_which_has_none() -> None:
    script = Script()
    with pytest.raises(ValidationError, match=r"resolution: '720P' .* not offered .* on evolink"):
        client(script).submit(TextToVideo("a kite", duration=6, resolution="720P"))
    assert script.sent == []


def test_resolution_must_be_text() -> None:
    with pytest.raises(ValidationError, match="resolution: an int, not text"):
        TextToVideo("a kite", resolution=720)  # type: ignore[arg-type]


# --- bodies: the contract of our own ToAPIs schemas --------------------------------------------


ACCEPTED_ON_TOAPIS = [
    TextToVideo("a kite", duration=6),
    TextToVideo("a kite", duration=10, aspect_ratio="9:16", resolution="720p"),
    TextToVideo("a kite", duration=6, resolution="1080P"),
    ImageToVideo("a kite", URLS[0], duration=6),
    ReferenceToVideo("a kite", URLS, duration=10),
    VideoEdit("make it night", "https://files.test/in.mp4"),
]


@pytest.mark.parametrize("request_", ACCEPTED_ON_TOAPIS, ids=lambda r: type(r).__name__)
def test_toapis_bodies_follow_the_schema_of_their_model(request_: Request) -> None:
    script = Script(posts=[toapis_created()])
    task = client(script, gateway="toapis").submit(request_)
    (sent,) = script.sent
    assert sent.url.path == "/v1/videos/generations"
    (body,) = script.payloads()
    schemas("toapis").request_validator(body["model"]).validate(body)
    assert task.id == TID and task.status == "pending"


def test_toapis_body_shapes() -> None:
    assert TOAPIS.body(TextToVideo("k", duration=6, resolution="1080P"))["resolution"] == "1080p"
    assert TOAPIS.body(ImageToVideo("k", URLS[0], duration=6))["image_urls"] == URLS[:1]
    edit = TOAPIS.body(VideoEdit("night", "https://files.test/in.mp4"))
    assert edit == {
        "model": "gemini-omni-flash-preview-official",
        "prompt": "night",
        "video_list": [{"video_url": "https://files.test/in.mp4"}],
        "metadata": {"task": "edit"},
    }
    assert "resolution" not in EVOLINK.body(TextToVideo("k"))


# --- answers: one task model ---------------------------------------------------------------


def test_toapis_answers_of_both_forms_are_parsed() -> None:
    reference = TOAPIS.parse_task(toapis_created().json(), None)
    assert (reference.id, reference.status, reference.created) == (TID, "pending", 1779247407)
    guide = TOAPIS.parse_task(
        {"task_id": "task_abc123", "status": "queued", "created_at": "2026-04-15T00:00:00.000Z"},
        None,
    )
    assert (guide.id, guide.status, guide.created) == ("task_abc123", "pending", 1776211200)
    for raw, neutral in [("submitted", "pending"), ("in_progress", "processing")]:
        assert TOAPIS.parse_task({"id": TID, "status": raw}, None).status == neutral
    done = TOAPIS.parse_task(toapis_task("completed").json(), None)
    assert done.video_url == "https://files.test/x.mp4"
    assert done.url_expires_at == 1778656300
    assert done.raw["status"] == "completed"
    failed = TOAPIS.parse_task(
        {"id": TID, "status": "failed", "error": {"code": "generation_failed", "message": "no"}},
        None,
    )
    assert failed.error is not None and failed.error.code == "generation_failed"
    with pytest.raises(ValueError, match="no task id"):
        TOAPIS.parse_task({"status": "queued"}, None)


def test_toapis_ids_are_checked_and_kept_as_file_names() -> None:
    script = Script()
    with pytest.raises(ValidationError, match="ids like video_"):
        client(script, gateway="toapis").get("task-unified-1-abc")
    assert script.sent == []
    assert file_stem(TID) == TID


def test_a_whole_toapis_generation_through_the_client(tmp_path: Any) -> None:
    script = Script(
        posts=[toapis_created()],
        gets=[toapis_task("in_progress"), toapis_task("completed")],
        downloads=[httpx.Response(200, content=MP4)],
    )
    updates: list[Any] = []
    c = client(script, gateway="toapis", ledger=tmp_path / "ledger.sqlite3")
    result = c.generate(TextToVideo("a kite", duration=6), dest=tmp_path, on_update=updates.append)
    assert result.path.read_bytes() == MP4
    paths = [r.url.path for r in script.sent if r.url.host == "api.test"]
    assert paths == ["/v1/videos/generations", *[f"/v1/videos/generations/{TID}"] * 2]
    assert [u.status for u in updates if hasattr(u, "status")][-1] == "completed"
    (record,) = c.history()
    assert (record.gateway, record.task_id, record.status) == ("toapis", TID, "saved")
    assert json.loads(result.path.with_suffix(".json").read_text())["gateway"] == "toapis"


def test_the_first_poll_follows_the_gateways_advice() -> None:
    from _mock import Clock

    clock = Clock()
    script = Script(posts=[toapis_created()], gets=[toapis_task("completed")])
    c = client(script, clock, gateway="toapis")
    c.wait(c.submit(TextToVideo("a kite", duration=6)))
    assert clock.sleeps[0] == 5.0 and c.poll_interval == 10.0


# --- the error table and its retry rules ---------------------------------------------------


def test_a_content_policy_refusal_is_never_retried() -> None:
    script = Script(posts=[error(422, "content_policy_violation", "Content violates the policy")])
    with pytest.raises(ContentPolicyError, match="HTTP 422 content_policy_violation"):
        client(script, gateway="toapis").submit(TextToVideo("a kite", duration=6))
    assert script.count("POST") == 1


def test_a_5xx_create_on_toapis_is_an_unknown_outcome_never_resent() -> None:
    script = Script(posts=[error(500, "internal_error", "oops")])
    with pytest.raises(OutcomeUnknownError):
        client(script, gateway="toapis").submit(TextToVideo("a kite", duration=6))
    assert script.count("POST") == 1


def test_a_429_create_on_toapis_honours_retry_after() -> None:
    from _mock import Clock

    clock = Clock()
    script = Script(
        posts=[error(429, "rate_limit_exceeded", **{"Retry-After": "7"}), toapis_created()]
    )
    task = client(script, clock, gateway="toapis").submit(TextToVideo("a kite", duration=6))
    assert task.id == TID and script.count("POST") == 2 and clock.sleeps == [7.0]


def test_an_unknown_toapis_task_names_its_id() -> None:
    script = Script(gets=[error(404, "task_not_found", "no such task")])
    with pytest.raises(NotFoundError, match=TID):
        client(script, gateway="toapis").get(TID)
    assert script.count("GET") == 1


@pytest.mark.parametrize(
    ("status", "kind", "names"),
    [(401, AuthenticationError, "TOAPIS_API_KEY"), (402, InsufficientQuotaError, "top up")],
)
def test_key_and_credit_advice_on_toapis_names_toapis(
    status: int, kind: type[Exception], names: str
) -> None:
    script = Script(posts=[error(status, "x", "refused")])
    with pytest.raises(kind) as caught:
        client(script, gateway="toapis").submit(TextToVideo("a kite", duration=6))
    message = str(caught.value)
    assert names in message and "toapis.com" in message and "evolink" not in message


@pytest.mark.parametrize("name", ["evolink", "toapis"])
def test_the_async_client_speaks_each_gateway(name: str) -> None:
    gateway = get_gateway(name)
    task_id = TID if name == "toapis" else "task-unified-1-abc"
    answer = (
        toapis_created(task_id)
        if name == "toapis"
        else httpx.Response(200, json={"id": task_id, "status": "pending"})
    )
    script = Script(posts=[answer])
    c = async_client(script, gateway=name)
    task = asyncio.run(c.submit(TextToVideo("a kite", duration=6)))
    assert c.gateway is gateway and task.id == task_id
    assert str(script.sent[0].url) == BASE + gateway.create_path


# --- the ledger: each task's gateway -------------------------------------------------------


def test_the_ledger_keeps_each_tasks_gateway_and_resumes_only_its_own(tmp_path: Any) -> None:
    from _mock import created

    from omni_widgets.magics.report import ledger_table

    ledger = tmp_path / "ledger.sqlite3"
    evolink = client(Script(posts=[created()]), ledger=ledger)
    toapis = client(Script(posts=[toapis_created()]), gateway="toapis", ledger=ledger)
    evolink.submit(TextToVideo("a kite", duration=6))
    toapis.submit(TextToVideo("a kite", duration=6))
    records = toapis.history()
    assert {(r.gateway, r.task_id) for r in records} == {
        ("evolink", "task-unified-1-abc"),
        ("toapis", TID),
    }
    assert [r.task_id for r in toapis.resumable()[0]] == [TID]
    assert [r.task_id for r in evolink.resumable()[0]] == ["task-unified-1-abc"]
    table = ledger_table(records).splitlines()
    assert "GATEWAY" in table[0]
    assert any(TID in line and "toapis" in line for line in table)
