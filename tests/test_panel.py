"""The panel without a browser: set widget values, click its buttons, observe its state.

Tasks run against the in-process sandbox inside ``asyncio.run`` (a kernel's running loop is
what a notebook gives the panel).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from PIL import Image

import omni_widgets
from omni_widgets import OutcomeUnknownError, Panel
from omni_widgets.notebook.card import CONFIRM_RESUBMIT, TaskCard
from omni_widgets.notebook.connection import Connection
from omni_widgets.notebook.jobs import Job
from omni_widgets.sandbox import Sandbox

I2V = "gemini-omni-flash-image-to-video"
REF = "gemini-omni-flash-reference-to-video"
EDIT = "gemini-omni-flash-video-edit"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=float("inf"), seed=7) as sb:
        yield sb


@pytest.fixture
def connection(sandbox: Sandbox) -> Connection:
    sandbox.faults.clear()
    return Connection(sandbox.api_key, sandbox.base_url, True, "sandbox", 0.05)


@pytest.fixture
def panel(connection: Connection, tmp_path: Path) -> Panel:
    return Panel(connection=connection, output_dir=tmp_path / "videos")


def png(width: int = 320, height: int = 240, colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(panel: Panel, *files: tuple[str, bytes]) -> None:
    """What the browser sends when files are chosen in the upload button."""
    panel.images.upload.value = tuple(
        {"name": name, "type": "image/png", "size": len(data), "content": memoryview(data),
         "last_modified": datetime.now(UTC)}
        for name, data in files
    )  # fmt: skip


async def _finish(job: Job | None) -> Job:
    assert job is not None
    assert job._future is not None
    await asyncio.wait_for(asyncio.shield(job._future), timeout=60)
    return job


def generate_and_wait(panel: Panel) -> Job:
    """Click Generate on a running loop and wait for the job the click started."""

    async def run() -> Job:
        before = len(panel.jobs)
        panel.generate_button.click()
        assert len(panel.jobs) == before + 1, panel.message_text or panel.reason_text
        return await _finish(panel.jobs[0])

    return asyncio.run(run())


def card(panel: Panel, index: int = 0) -> TaskCard:
    found = panel.cards.children[index]
    assert isinstance(found, TaskCard)
    return found


def all_widget_states() -> str:
    return repr([w.get_state() for w in list(widgets.widget._instances.values())])


# --- building the request ------------------------------------------------------------------


def test_defaults_need_only_a_prompt(panel: Panel) -> None:
    assert panel.mode.value == "gemini-omni-flash-text-to-video"
    assert panel.generate_button.disabled
    assert "Prompt: empty; allowed: a non-empty text" in panel.reason_text
    # An untouched prompt is not flagged red yet; the reason beside Generate says it.
    assert panel.prompt_row.problem_text == ""

    panel.prompt.value = "A red kite over a beach"
    assert not panel.generate_button.disabled
    assert panel.reason_text == ""
    request = panel.build_request()
    assert request.to_payload() == {
        "model": "gemini-omni-flash-text-to-video",
        "prompt": "A red kite over a beach",
        "duration": 5,
        "aspect_ratio": "16:9",
    }


def test_prompt_shows_character_count_and_problem_once_touched(panel: Panel) -> None:
    panel.prompt.value = "Hello"
    assert "5 characters" in panel.prompt_row.hint.value
    panel.prompt.value = "   "
    assert "3 characters" in panel.prompt_row.hint.value
    assert panel.prompt_row.problem_text == (
        "Prompt: only white space; allowed: a non-empty text describing the video, "
        "at most 10,000 characters"
    )
    assert panel.generate_button.disabled


def test_each_mode_shows_only_its_fields(panel: Panel) -> None:
    visible = {}
    for mode in (omni_widgets.TextToVideo, omni_widgets.ImageToVideo,
                 omni_widgets.ReferenceToVideo, omni_widgets.VideoEdit):  # fmt: skip
        panel.mode.value = mode.model
        visible[mode.__name__] = {name for name, row in panel.rows.items() if row.visible}
    timed = {"prompt", "duration", "aspect_ratio", "callback_url"}
    assert visible == {
        "TextToVideo": timed,
        "ImageToVideo": timed | {"images"},
        "ReferenceToVideo": timed | {"images"},
        "VideoEdit": {"prompt", "video_url", "callback_url"},
    }


def test_image_to_video_takes_exactly_one_image(panel: Panel) -> None:
    panel.prompt.value = "The cat turns its head"
    panel.mode.value = I2V
    assert panel.generate_button.disabled
    assert panel.images_row.problem_text == "Image: 0 images given; allowed: exactly 1 image"

    upload(panel, ("cat.png", png()))
    assert panel.images_row.problem_text == ""
    assert not panel.generate_button.disabled
    # The button's "(N)" counts the uploads, but their bytes do not stay in the upload widget.
    assert [(f["name"], f["content"]) for f in panel.images.upload.value] == [("cat.png", b"")]
    thumbs = panel.images.thumbs.children
    assert len(thumbs) == 1
    assert isinstance(thumbs[0].children[0], widgets.Image)

    panel.images.url.value = "https://example.com/dog.webp"  # Enter in the URL box
    assert panel.images.url.value == ""
    assert len(panel.images.thumbs.children) == 2
    assert panel.images_row.problem_text == "Image: 2 images given; allowed: exactly 1 image"
    assert "Image: 2 images given" in panel.reason_text

    remove = panel.images.thumbs.children[0].children[2]
    assert isinstance(remove, widgets.Button) and "Remove image 1" in remove.tooltip
    remove.click()
    assert [item.url for item in panel.images.items] == ["https://example.com/dog.webp"]
    assert panel.images.upload.value == (), "the upload count follows removals"
    assert not panel.generate_button.disabled
    assert panel.build_request().to_payload()["image_urls"] == ["https://example.com/dog.webp"]


def test_references_take_one_to_six_and_bad_images_are_named(panel: Panel) -> None:
    panel.prompt.value = "These two characters meet"
    panel.mode.value = REF
    assert panel.images_row.problem_text == "Images: 0 images given; allowed: 1 to 6 images"
    upload(panel, *[(f"r{i}.png", png(colour=f"#{i}0{i}0{i}0")) for i in range(7)])
    assert panel.images_row.problem_text == "Images: 7 images given; allowed: 1 to 6 images"
    panel.images.remove(6)
    assert panel.images_row.problem_text == ""

    upload(panel, ("tiny.png", png(10, 10)))
    assert (
        "Image 7 (tiny.png): 10x10 px is outside the range; allowed: 240..7680 px per side"
    ) in panel.images_row.problem_text
    assert panel.generate_button.disabled


def test_video_edit_needs_a_url_and_callback_must_be_public_https(panel: Panel) -> None:
    panel.prompt.value = "Make it night"
    panel.mode.value = EDIT
    assert panel.video_row.problem_text == (
        "Video URL: empty; allowed: one http(s) URL of an MP4 video (its path ends in .mp4)"
    )
    panel.video_url.value = "ftp://example.com/a.mp4"
    assert panel.video_row.problem_text.startswith(
        "Video URL: 'ftp://example.com/a.mp4' does not start with http:// or https://; allowed: "
    )
    panel.video_url.value = "https://example.com/a.mp4"
    assert not panel.generate_button.disabled

    panel.callback_url.value = "http://127.0.0.1/hook"
    assert "a public https URL" in panel.callback_row.problem_text
    assert "Callback URL:" in panel.reason_text
    assert panel.generate_button.disabled
    panel.callback_url.value = "https://hooks.example.com/omni"
    assert panel.callback_row.problem_text == ""
    assert panel.build_request().to_payload() == {
        "model": EDIT,
        "prompt": "Make it night",
        "video_urls": ["https://example.com/a.mp4"],
        "callback_url": "https://hooks.example.com/omni",
    }


def test_an_upload_that_cannot_be_sent_is_named_by_its_file(panel: Panel) -> None:
    panel.prompt.value = "The cat turns its head"
    panel.mode.value = I2V
    upload(panel, ("holiday.gif", b"GIF89a" + bytes(473)))
    expected = (
        "Image (holiday.gif): not a png, jpeg or webp image (starts with b'GIF89a\\x00\\x00'); "
        "allowed: a png, jpeg or webp image"
    )
    assert panel.images_row.problem_text == expected
    assert panel.reason_text == f"Can't generate yet. {expected}"
    assert "bytes>" not in panel.reason_text

    panel.mode.value = REF
    upload(panel, ("ok.png", png()), ("tiny.png", png(10, 10)))
    assert panel.images_row.problem_text == (
        "Image 1 (holiday.gif): not a png, jpeg or webp image (starts with "
        "b'GIF89a\\x00\\x00'); allowed: a png, jpeg or webp image · Image 3 (tiny.png): 10x10 px "
        "is outside the range; allowed: 240..7680 px per side"
    )


def test_the_upload_button_counts_the_uploads(panel: Panel) -> None:
    panel.mode.value = REF
    upload(panel, ("a.png", png()), ("b.png", png()))
    upload(panel, ("c.png", png()))
    panel.images.url.value = "https://example.com/d.png"  # a URL is not an upload
    # The button shows "Upload images (N)" with N the length of its value.
    assert [f["name"] for f in panel.images.upload.value] == ["a.png", "b.png", "c.png"]
    assert all(f["content"] == b"" for f in panel.images.upload.value)
    panel.images.remove(0)
    assert len(panel.images.upload.value) == 2
    assert [item.name for item in panel.images.items] == [
        "b.png",
        "c.png",
        "https://example.com/d.png",
    ]
    panel.images.clear()
    assert panel.images.upload.value == ()


def test_a_long_prompt_gets_a_notice_but_stays_valid(panel: Panel) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the panel shows a notice instead of a warning per key
        panel.prompt.value = "a slow pan over hills " * 100
    assert (
        panel.prompt_row.hint.value.count(
            "2,200 characters: more than 2,000, the service "
            "may fail the task as &#x27;prompt is too long&#x27;"
        )
        == 1
    )
    assert not panel.generate_button.disabled
    panel.prompt.value = "x" * 10_001
    assert panel.generate_button.disabled
    assert "Prompt: 10,001 characters is too long" in panel.reason_text


def test_duration_auto_and_aspect_ratio_reach_the_request(panel: Panel) -> None:
    panel.prompt.value = "x"
    assert [value for _, value in panel.duration.options] == ["auto", *range(3, 11)]
    panel.duration.value = "auto"
    panel.aspect_ratio.value = "9:16"
    payload = panel.build_request().to_payload()
    assert (payload["duration"], payload["aspect_ratio"]) == ("auto", "9:16")


# --- generating ----------------------------------------------------------------------------


def test_generate_plays_the_saved_video_in_a_card(panel: Panel, tmp_path: Path) -> None:
    panel.prompt.value = "A paper boat in the rain"
    job = generate_and_wait(panel)
    assert job.phase == "completed", job.error_message
    assert job.path is not None and job.path.parent == tmp_path / "videos"
    shown = card(panel)
    assert shown.status_text == "Completed"
    assert shown._bar.value == 100 and "100%" in shown._percent.value
    assert job.task_id and job.task_id in shown._meta.value
    assert "credits reserved" in shown._meta.value
    video, saved = shown._media.children
    assert isinstance(video, widgets.Video)
    assert video.value == job.path.read_bytes() and video.value[4:8] == b"ftyp"
    assert str(job.path) in saved.value
    assert "SANDBOX" in shown._header.value and "A paper boat in the rain" in shown._header.value
    # The panel is ready for the next one, and offers the result for code.
    assert not panel.generate_button.disabled
    assert [r.path for r in panel.results] == [job.path]


def test_newest_card_first_and_tasks_run_side_by_side(
    panel: Panel, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At infinite speed the first task could finish before the second click (its clip may come
    # from the render cache): at 40x it runs for about 1.6 s, well past the 0.3 s below.
    sandbox.speed = 40
    monkeypatch.setattr("omni_widgets.notebook.panel.SUBMIT_HOLD_S", 0.2)

    async def two() -> list[Job]:
        panel.prompt.value = "first"
        panel.generate_button.click()
        first = panel.jobs[0]
        await asyncio.sleep(0.3)  # past the double-click hold
        panel.prompt.value = "second"
        panel.generate_button.click()
        second = panel.jobs[0]
        assert first is not second
        assert first.running and second.running  # both in flight at once
        return [await _finish(second), await _finish(first)]

    try:
        second, first = asyncio.run(two())
    finally:
        sandbox.speed = float("inf")
    assert [c.job for c in panel.cards.children] == [second, first]
    assert [card(panel, i).status_text for i in (0, 1)] == ["Completed", "Completed"]


def test_double_click_makes_one_task(panel: Panel, monkeypatch: pytest.MonkeyPatch) -> None:
    # A long hold makes "the second click came after the service answered" deterministic.
    monkeypatch.setattr("omni_widgets.notebook.panel.SUBMIT_HOLD_S", 30.0)

    async def double_click() -> list[tuple[bool, str]]:
        panel.prompt.value = "once"
        panel.generate_button.click()
        states = [(panel.generate_button.disabled, panel.generate_button.description)]
        panel.generate_button.click()  # the second click of a double click, before any answer
        job = panel.jobs[0]
        while job.phase == "submitting":
            await asyncio.sleep(0.01)
        panel.generate_button.click()  # a late second click, after the task was created
        states.append((panel.generate_button.disabled, panel.generate_button.description))
        await _finish(job)
        return states

    states = asyncio.run(double_click())
    assert states == [(True, "Submitting…"), (True, "Submitting…")]
    assert len(panel.jobs) == 1


def test_failure_shows_code_advice_and_resubmit_is_explicit(panel: Panel) -> None:
    panel.prompt.value = "A crowd scene [[fail:content_policy_violation]]"
    job = generate_and_wait(panel)
    assert job.phase == "failed"
    shown = card(panel)
    assert shown.status_text == "Failed"
    assert "content_policy_violation" in shown._problem.value
    assert "What to do: change the prompt or image" in shown._problem.value
    assert shown._action.description == "Resubmit" and shown._action.layout.display == ""
    assert len(panel.jobs) == 1, "a failure must never resubmit by itself"

    async def resubmit() -> Job:
        shown._action.click()
        return await _finish(panel.jobs[0])

    again = asyncio.run(resubmit())
    assert again is not job and again.request == job.request
    assert [c.job for c in panel.cards.children] == [again, job]
    assert shown._action.layout.display == "none"


@pytest.mark.parametrize("after_5xx", [True, False], ids=["5xx-after-create", "dropped-answer"])
def test_unknown_outcome_warns_of_billing_and_resubmit_takes_two_clicks(
    panel: Panel, sandbox: Sandbox, after_5xx: bool
) -> None:
    if after_5xx:
        sandbox.faults.server_error(on="create", count=1, after=True)
    else:
        sandbox.faults.drop(on="create", count=1, after=True)
    before = len(sandbox.created_task_ids)
    panel.prompt.value = "a lighthouse at dusk"

    async def run() -> tuple[Job, Job]:  # one loop throughout, as in a kernel
        panel.generate_button.click()
        job = await _finish(panel.jobs[0])
        assert job.phase == "error" and isinstance(job.error, OutcomeUnknownError)
        assert len(sandbox.created_task_ids) == before + 1, "the first task exists"
        shown = card(panel)
        problem = shown._problem.value
        assert "Outcome unknown" in problem and "may exist and may be billed" in problem
        made = sandbox.created_task_ids[-1]
        assert (made in problem) is after_5xx
        assert job.error.task_id == (made if after_5xx else None)
        assert (shown._action.description, shown._action.layout.display) == ("Resubmit…", "")
        assert shown._cancel.layout.display == "none"

        shown._action.click()  # the first click only asks
        assert shown._action.description == "Yes, create another task (may bill twice)"
        assert shown._action.description == CONFIRM_RESUBMIT
        assert shown._cancel.layout.display == "" and len(panel.jobs) == 1
        shown._cancel.click()  # changing one's mind leaves things as they were
        assert (shown._action.description, shown._cancel.layout.display) == ("Resubmit…", "none")
        assert len(panel.jobs) == 1 and len(sandbox.created_task_ids) == before + 1

        shown._action.click()
        assert len(panel.jobs) == 1, "still only asking"
        shown._action.click()
        assert shown._action.layout.display == "none" and shown._cancel.layout.display == "none"
        return job, await _finish(panel.jobs[0])

    job, again = asyncio.run(run())
    assert again is not job and again.request == job.request
    assert again.phase == "completed", again.error_message
    assert len(panel.jobs) == 2 and len(sandbox.created_task_ids) == before + 2


def test_retry_notice_is_shown_on_the_card(panel: Panel, sandbox: Sandbox) -> None:
    sandbox.faults.rate_limit(count=1, on="create")
    seen: list[str] = []

    async def run() -> Job:
        panel.prompt.value = "busy day"
        panel.generate_button.click()
        card(panel)._notice.observe(lambda change: seen.append(change["new"]), names="value")
        return await _finish(panel.jobs[0])

    job = asyncio.run(run())
    assert job.phase == "completed"
    assert any("rate limited, retrying in" in text for text in seen), seen
    assert card(panel)._notice.value == "", "the notice goes once the task answers"


class Boom(BaseException):
    """Something a job's own error handling does not catch."""


class ExplodingClient:
    async def submit(self, request: Any, **kwargs: Any) -> Any:
        raise Boom("the runner blew up")


def test_a_crashed_task_runner_is_reported_in_the_panel(tmp_path: Path) -> None:
    connection = Connection("k", "http://127.0.0.1:9", True, "sandbox")
    connection._async = ExplodingClient()
    panel = Panel(connection=connection, output_dir=tmp_path)
    panel.prompt.value = "x"

    async def run() -> None:
        panel.generate_button.click()
        future = panel.jobs[0]._future
        assert future is not None
        with pytest.raises(Boom):
            await future

    asyncio.run(run())
    assert "stopped: Boom: the runner blew up" in panel.message_text
    assert not panel.generate_button.disabled


def test_generate_without_an_event_loop_says_why(panel: Panel) -> None:
    panel.prompt.value = "x"
    panel.generate_button.click()
    assert panel.jobs == []
    assert "needs a running event loop" in panel.message_text
    assert not panel.generate_button.disabled


# --- keys and display ----------------------------------------------------------------------


def test_typed_key_lives_in_kernel_memory_only(
    monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    for name in ("OMNI_API_KEY", "EVOLINK_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMNI_BASE_URL", sandbox.base_url)
    monkeypatch.setattr("omni_widgets.notebook.panel.connect", lambda: _sandbox_connection(sandbox))
    panel = Panel()
    assert panel.service.entry.layout.display == "", "no key configured: the panel asks for one"
    assert "SANDBOX" in panel.service.status.value
    assert "paste an EvoLink key below or set OMNI_API_KEY" in panel.service.status.value

    secret = "sk-typed-secret-123"
    panel.service.password.value = secret  # what the browser syncs when Enter is pressed
    assert panel.service.password.value == ""
    assert panel.connection.api_key == secret
    assert panel.connection.key_source == "argument"
    assert "kernel memory only" in panel.service.status.value
    assert secret not in all_widget_states()
    assert secret not in repr(panel) and secret not in str(panel._repr_mimebundle_())

    panel.service.forget_key()
    assert panel.connection.key_source == "sandbox"


def _sandbox_connection(sandbox: Sandbox) -> Connection:
    return Connection(sandbox.api_key, sandbox.base_url, True, "sandbox")


def test_key_from_environment_needs_no_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_API_KEY", "sk-from-env-456")
    monkeypatch.delenv("OMNI_BASE_URL", raising=False)
    panel = Panel()
    assert panel.service.entry.layout.display == "none"
    assert panel.connection.sandbox is False
    assert "LIVE" in panel.service.status.value and "OMNI_API_KEY" in panel.service.status.value
    assert "sk-from-env-456" not in all_widget_states()
    assert "sk-from-env-456" not in repr(panel)


def test_static_render_reads_as_text(panel: Panel) -> None:
    bundle = panel._repr_mimebundle_()
    assert bundle is not None
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("omni-widgets panel: generate Gemini Omni Flash")
    panel.prompt.value = "A lighthouse in fog"
    job = generate_and_wait(panel)
    text = card(panel)._repr_mimebundle_()
    assert text is not None
    assert (
        f"A lighthouse in fog · status when shown: Completed · task id {job.task_id}"
        in (text["text/plain"])
    )


def test_panel_function_displays_and_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[Any] = []
    monkeypatch.setattr("omni_widgets.notebook.panel.display", shown.append)
    offline = Connection("k", "http://127.0.0.1:9", True, "sandbox")
    monkeypatch.setattr("omni_widgets.notebook.panel.connect", lambda: offline)
    made = omni_widgets.panel()
    assert shown == [made] and isinstance(made, Panel)
