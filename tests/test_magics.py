"""``%omni`` / ``%%omni`` in an IPython ``InteractiveShell`` against a sandbox started here.

Every option, every subcommand, placeholders, and every kind of bad input (which must create no
task: counted on the sandbox side). The non-blocking path needs a running event loop, as in a
kernel: those tests run the shell's magics inside ``asyncio.run``. The client's first poll waits
half the service's estimate (tens of seconds in vendor time), so ``fast_polls`` caps the clients'
sleeps: the tests then take seconds, and the polling logic itself is unchanged.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from _mock import png
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError

import omni_widgets
from omni_widgets import (
    AuthenticationError,
    ImageToVideo,
    OmniClient,
    ReferenceToVideo,
    Result,
    Task,
    TextToVideo,
    VideoEdit,
)
from omni_widgets.magics import magics as _magics
from omni_widgets.magics.magics import OmniMagics
from omni_widgets.notebook.card import TaskCard
from omni_widgets.notebook.connection import Connection, stop_shared_sandbox
from omni_widgets.notebook.handle import TaskHandle
from omni_widgets.notebook.jobs import Job, find_job, session_jobs
from omni_widgets.sandbox import Sandbox

FAST = float("inf")  # every task is complete by its first query
POLL_CAP_S = 0.2
TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=FAST, seed=5) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sandbox]:
    """The module's sandbox as the configured service; videos land in ``tmp_path``."""
    for name in ("OMNI_API_KEY", "EVOLINK_API_KEY", "OMNI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMNI_API_KEY", sandbox.api_key)
    monkeypatch.setenv("OMNI_BASE_URL", sandbox.base_url)
    monkeypatch.chdir(tmp_path)
    sandbox.faults.clear()
    sandbox.speed = FAST
    yield sandbox
    sandbox.speed = FAST


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cap the sleeps of every connection the magics make (see the module docstring)."""
    real_connect = _magics.connect

    def connect(*args: Any, **kwargs: Any) -> Connection:
        connection = real_connect(*args, **kwargs)

        async def short_async_sleep(seconds: float) -> None:
            await asyncio.sleep(min(seconds, POLL_CAP_S))

        connection.sync_client._sleep = lambda seconds: time.sleep(min(seconds, POLL_CAP_S))
        connection.client._sleep = short_async_sleep
        return connection

    monkeypatch.setattr(_magics, "connect", connect)


@pytest.fixture
def ip(sb: Sandbox, fast_polls: None) -> Iterator[InteractiveShell]:
    """A shell with ``%load_ext omni_widgets`` done; unloaded afterwards (fresh config)."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "omni_widgets")
    yield shell
    shell.run_line_magic("unload_ext", "omni_widgets")
    shell.config.pop("OmniMagics", None)  # %config settings outlive the extension otherwise
    for name in [n for n in shell.user_ns if n.startswith("t_")]:
        del shell.user_ns[name]


@pytest.fixture
def cards(monkeypatch: pytest.MonkeyPatch) -> list[TaskCard]:
    """Every card the magics display (the real cards, recorded)."""
    shown: list[TaskCard] = []
    real_show = _magics.show_card

    def show_card(job: Job) -> TaskCard:
        card = real_show(job)
        shown.append(card)
        return card

    monkeypatch.setattr(_magics, "show_card", show_card)
    return shown


def omni(shell: InteractiveShell, line: str) -> Any:
    return shell.run_line_magic("omni", line)


def newest_job() -> Job:
    return session_jobs()[0]


def in_loop(body: Callable[[], Awaitable[None]]) -> None:
    """Run ``body`` on a fresh event loop, as a kernel runs cells inside its loop."""
    asyncio.run(asyncio.wait_for(body(), TIMEOUT_S))


async def until_done(job: Job) -> None:
    while not job.done:
        await asyncio.sleep(0.05)


def video_bytes(card: TaskCard) -> bytes:
    """The bytes of the video the card plays, if it plays one."""
    for child in card._media.children:
        if isinstance(child, widgets.Video):
            return bytes(child.value)
    return b""


def card_html(widget: Any) -> str:
    """All HTML text in a widget tree (what the card says)."""
    own = widget.value if isinstance(widget, widgets.HTML) else ""
    return own + "".join(card_html(child) for child in getattr(widget, "children", ()))


# --- loading and help -------------------------------------------------------------------------


def test_load_ext_registers_both_magics_and_unload_removes_them(sb: Sandbox) -> None:
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext omni_widgets").raise_error()
    assert shell.find_line_magic("omni") is not None
    assert shell.find_cell_magic("omni") is not None
    assert any(isinstance(c, OmniMagics) for c in shell.configurables)
    shell.run_cell("%unload_ext omni_widgets").raise_error()
    assert shell.find_line_magic("omni") is None
    assert shell.find_cell_magic("omni") is None
    assert not any(isinstance(c, OmniMagics) for c in shell.configurables)


HELP_MUST_SAY = [
    *("--duration", "--aspect", "--image", "--ref", "--video", "--callback", "--out"),
    *("--wait", "--no-wait", "-o NAME", "3..10", "auto", "16:9", "9:16", "1 to 6"),
    *("%omni panel", "%omni status [ID]", "%omni list", "%omni wait ID", "%omni resume ID"),
    *(
        "%omni gallery",
        "%omni config",
        "%omni sandbox start|stop",
        "%%omni",
        "{{ and }}",
        "quote the prompt",
    ),
    *("%config OmniMagics.duration = 6", "ipython_config.py", "stop button", "SANDBOX"),
]


@pytest.mark.parametrize("line", ["--help", "-h", "help", ""])
def test_help_lists_every_option_value_and_subcommand(
    ip: InteractiveShell, sb: Sandbox, capsys: pytest.CaptureFixture[str], line: str
) -> None:
    before = len(sb.created_task_ids)
    omni(ip, line)
    text = capsys.readouterr().out
    missing = [phrase for phrase in HELP_MUST_SAY if phrase not in text]
    assert missing == []
    assert len(sb.created_task_ids) == before
    assert text.startswith("  %omni [options] PROMPT...")  # no reST "::" marker first
    options = text.split("\noptions:\n", 1)[1]
    for option in ("--duration", "--aspect", "--image", "--ref", "--video", "--callback"):
        entry = options.split(f"  {option} ", 1)[1].split("\n  -", 1)[0]
        assert "allowed:" in " ".join(entry.split()), option
    assert "allowed: a Python name" in " ".join(options.split())  # -o


def test_question_mark_shows_the_same_help(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_cell("%omni?").raise_error()
    text = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)  # colour codes
    assert "Docstring:\n%omni [options] PROMPT..." in text and "::" not in text
    assert [phrase for phrase in HELP_MUST_SAY if phrase not in text] == []


# --- generating: every kind and option --------------------------------------------------------


def test_text_to_video_with_duration_aspect_wait_and_name(
    ip: InteractiveShell, sb: Sandbox, cards: list[TaskCard]
) -> None:
    before = len(sb.created_task_ids)
    result = omni(ip, "a red kite over the sea --duration 6 --aspect 9:16 --wait -o t_result")
    assert result is None  # nothing echoed as Out[]: the card shows it all
    stored = ip.user_ns["t_result"]
    assert isinstance(stored, Result) and stored.path.is_file()
    assert stored.path.parent == Path("omni_outputs")
    job = find_job(stored.task.id)
    assert job is not None and job.phase == "completed"
    assert job.request == TextToVideo("a red kite over the sea", duration=6, aspect_ratio="9:16")
    assert sb.created_task_ids[before:] == [stored.task.id]
    assert [c.job for c in cards] == [job]
    assert video_bytes(cards[0]) == stored.path.read_bytes()


def test_image_to_video(ip: InteractiveShell, sb: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "portrait.png").write_bytes(png(320, 480))
    omni(ip, "she turns and smiles --image portrait.png --aspect 9:16 --wait -o t_r")
    job = find_job(ip.user_ns["t_r"].task.id)
    assert job is not None and isinstance(job.request, ImageToVideo)
    assert job.request.image.startswith("data:image/png;base64,")
    assert job.task is not None and job.task.model == ImageToVideo.model


def test_reference_to_video_with_repeated_refs(
    ip: InteractiveShell, sb: Sandbox, tmp_path: Path
) -> None:
    for name in ("cat.png", "yarn.png", "sofa.png"):
        (tmp_path / name).write_bytes(png())
    omni(ip, "a kitten plays --ref cat.png --ref yarn.png --ref sofa.png --wait -o t_r")
    job = find_job(ip.user_ns["t_r"].task.id)
    assert job is not None and isinstance(job.request, ReferenceToVideo)
    assert len(job.request.images) == 3
    assert job.task is not None and job.task.model == ReferenceToVideo.model


def test_video_edit_with_callback(ip: InteractiveShell, sb: Sandbox) -> None:
    omni(
        ip,
        "make it snow --video https://example.com/clip.mp4 "
        "--callback https://hooks.example.invalid/omni --wait -o t_r",
    )
    job = find_job(ip.user_ns["t_r"].task.id)
    assert job is not None
    assert job.request == VideoEdit(
        "make it snow",
        "https://example.com/clip.mp4",
        callback_url="https://hooks.example.invalid/omni",
    )
    assert ip.user_ns["t_r"].path.is_file()


def test_out_folder_and_line_placeholders(ip: InteractiveShell, tmp_path: Path) -> None:
    ip.user_ns.update(t_folder=str(tmp_path / "clips"), t_animal="otter", t_secs=4)
    ip.user_ns["t_scene"] = type("Scene", (), {"place": "a kelp forest"})()
    omni(
        ip,
        "{t_animal}s in {t_scene.place} --duration {t_secs} --out {t_folder} --wait -o t_r",
    )
    result = ip.user_ns["t_r"]
    assert result.path.parent == tmp_path / "clips" and result.path.is_file()
    job = find_job(result.task.id)
    assert job is not None
    assert job.request == TextToVideo("otters in a kelp forest", duration=4)


def test_quotes_keep_dashes_and_subcommand_words_in_the_prompt(
    ip: InteractiveShell, sb: Sandbox
) -> None:
    ip.user_ns["t_who"] = "cat"
    before = len(sb.created_task_ids)
    omni(ip, '"list of birds --wait {{not a placeholder}}" over a {t_who}\'s roof --wait -o t_r')
    job = find_job(ip.user_ns["t_r"].task.id)
    assert job is not None and job.request is not None
    assert job.request.prompt == "list of birds --wait {not a placeholder} over a cat's roof"
    assert len(sb.created_task_ids) == before + 1


def test_cell_magic_body_is_a_multiline_prompt_with_placeholders(
    ip: InteractiveShell, sb: Sandbox
) -> None:
    ip.user_ns.update(t_city="Lisbon", t_d=5)
    body = "\nA slow pan over {t_city} at dawn,\n  mist rising: {{literal braces}}.\n\n"
    ip.run_cell_magic("omni", "--duration {t_d} --wait -o t_r", body)
    job = find_job(ip.user_ns["t_r"].task.id)
    assert job is not None
    assert job.request == TextToVideo(
        "A slow pan over Lisbon at dawn,\n  mist rising: {literal braces}.", duration=5
    )


def test_configured_defaults_apply_and_line_options_win(ip: InteractiveShell) -> None:
    ip.run_line_magic("config", "OmniMagics.duration = 4")
    ip.run_line_magic("config", "OmniMagics.aspect_ratio = '9:16'")
    ip.run_line_magic("config", "OmniMagics.wait = True")
    ip.run_line_magic("config", "OmniMagics.out = 'configured'")
    omni(ip, "a lighthouse -o t_a")  # waits, because of OmniMagics.wait
    first = ip.user_ns["t_a"]
    assert isinstance(first, Result) and first.path.parent == Path("configured")
    omni(ip, "a lighthouse --duration auto --aspect 16:9 -o t_b")
    jobs = [find_job(ip.user_ns[n].task.id) for n in ("t_a", "t_b")]
    assert [(j.request.duration, j.request.aspect_ratio) for j in jobs] == [  # type: ignore[union-attr]
        (4, "9:16"),
        ("auto", "16:9"),
    ]


def test_ipython_config_file_settings_reach_the_magics(sb: Sandbox) -> None:
    shell = InteractiveShell.instance()
    shell.config.OmniMagics.duration = 7  # what c.OmniMagics.duration = 7 in ipython_config.py does
    try:
        shell.run_line_magic("load_ext", "omni_widgets")
        magics = shell.magics_manager.registry["OmniMagics"]
        assert magics.duration == 7
    finally:
        shell.run_line_magic("unload_ext", "omni_widgets")
        del shell.config["OmniMagics"]


def test_bad_configured_duration_is_refused(ip: InteractiveShell) -> None:
    magics = ip.magics_manager.registry["OmniMagics"]
    with pytest.raises(TraitError, match=r"an integer 3\.\.10"):
        magics.duration = 12
    magics.duration = "auto"
    assert magics.duration == "auto"


# --- non-blocking -----------------------------------------------------------------------------


def test_non_blocking_returns_at_once_then_the_card_plays_the_video(
    ip: InteractiveShell, sb: Sandbox, cards: list[TaskCard]
) -> None:
    async def body() -> None:
        omni(ip, "a cat on a skateboard -o t_task")
        task = ip.user_ns["t_task"]
        assert isinstance(task, TaskHandle) and task.status == "pending"
        assert isinstance(task.task, Task) and task.result is None
        job = find_job(task.id)
        assert job is not None and job.running and not job.done  # returned before any polling
        assert [c.job for c in cards] == [job]
        await until_done(job)
        assert job.phase == "completed" and job.path is not None
        assert video_bytes(cards[0]) == job.path.read_bytes()
        # The variable follows the task: no stale "pending" snapshot.
        assert task.status == "completed" and task.progress == 100 and task.path == job.path
        assert task.result is not None and task.result.path == job.path
        assert task.task.status == "completed" and task.video_url is not None
        assert "status='completed'" in repr(task) and "live" in repr(task)

    in_loop(body)
    assert sb.created_task_ids[-1] == ip.user_ns["t_task"].id


def test_without_an_event_loop_the_task_is_created_and_wait_finishes_it(
    ip: InteractiveShell, sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    omni(ip, "a paper boat -o t_task")
    task_id = ip.user_ns["t_task"].id
    assert f"%omni wait {task_id}" in capsys.readouterr().err
    job = find_job(task_id)
    assert job is not None and not job.running and not job.done
    omni(ip, f"wait {task_id} -o t_r")
    assert job.phase == "completed" and ip.user_ns["t_r"].path == job.path
    assert sb.created_task_ids.count(task_id) == 1


def test_stop_during_wait_leaves_the_task_running_and_watched(
    ip: InteractiveShell, sb: Sandbox, cards: list[TaskCard]
) -> None:
    async def body() -> None:
        magics = ip.magics_manager.registry["OmniMagics"]
        client = magics._connection().sync_client

        def interrupt(seconds: float) -> None:
            raise KeyboardInterrupt  # the notebook's stop button, during the plain wait loop

        client._sleep = interrupt
        before = len(sb.created_task_ids)
        with pytest.raises(KeyboardInterrupt) as stopped:
            omni(ip, "a slow sunrise --wait -o t_r")
        line = stopped.value._render_traceback_()  # type: ignore[attr-defined]
        job = newest_job()
        assert line == [
            f"KeyboardInterrupt: stopped waiting for task {job.task_id}; its card keeps "
            f"watching. Wait again with: %omni wait {job.task_id}"
        ]
        assert "t_r" not in ip.user_ns
        assert job.running and cards[-1].job is job
        await until_done(job)
        assert job.phase == "completed" and job.path is not None and job.path.is_file()
        assert sb.created_task_ids[before:] == [job.task_id]

    in_loop(body)


# --- bad input: one line, naming the option, no task ------------------------------------------

BAD_LINES = [
    ("x --duration 12", "--duration", "an integer 3..10 or 'auto'"),
    ("x --duration soon", "--duration", "3..10"),
    ("x --duration", "--duration", "expected one argument"),
    ("x --aspect 4:3", "--aspect", "'16:9', '9:16', 'auto'"),
    ("x --colour red", "unrecognized arguments: --colour", "--help"),
    ("x --image a.png --image b.png", "--image", "exactly 1 image"),
    ("x --image a.png --ref b.png", "--image and --ref", "at most one"),
    ("x --ref a.png --video https://e.com/v.mp4", "--ref and --video", "at most one"),
    ("x " + "--ref a.png " * 7, "--ref", "1 to 6"),
    ("x --image missing.png", "--image", "existing file"),
    ("x --video https://e.com/v.mp4 --duration 5", "--duration and --aspect", "video edit"),
    ("x --video clip.mp4", "--video", "http(s) URL"),
    ("x --callback http://example.com/hook", "--callback", "https URL"),
    ("x --callback https://127.0.0.1/hook", "--callback", "loopback"),
    ("x -o 1st", "-o", "variable name"),
    ("--wait --duration 5", "no prompt", "%%omni"),
    ('"unclosed prompt --wait', "unclosed", '"'),
    ("a {t_nowhere} scene", "'t_nowhere'", "{{ and }}"),
    ("a {t_n.missing} scene", "no attribute", "{{ and }}"),
    ("a {} scene", "variable's name", "{{ and }}"),
    ("a } scene", "Single '}'", "{{ and }}"),
    ("list of birds flying", '%omni "list of birds flying"', "usage: %omni list"),
    ("wait", "usage: %omni wait ID", "quote it"),
    ("sandbox restart", "usage: %omni sandbox start|stop", "restart"),
    ("list --duration 5", "--duration does not apply", "%omni list"),
    ("status --wait", "--wait/--no-wait does not apply", "%omni status"),
]


@pytest.mark.parametrize(("line", "names", "allowed"), BAD_LINES)
def test_bad_input_is_a_one_line_usage_error_and_creates_no_task(
    ip: InteractiveShell, sb: Sandbox, tmp_path: Path, line: str, names: str, allowed: str
) -> None:
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(png())
    ip.user_ns["t_n"] = 3
    created, requests, jobs = len(sb.created_task_ids), len(sb.requests), len(session_jobs())
    with pytest.raises(UsageError) as error:
        omni(ip, line)
    message = str(error.value)
    assert names in message and allowed in message
    assert "\n" not in message
    assert len(sb.created_task_ids) == created
    assert len(session_jobs()) == jobs
    if "status" not in line:
        assert len(sb.requests) == requests  # nothing was even sent


def test_cell_magic_errors_create_no_task(ip: InteractiveShell, sb: Sandbox) -> None:
    created = len(sb.created_task_ids)
    with pytest.raises(UsageError, match="unknown name 't_nowhere'"):
        ip.run_cell_magic("omni", "--duration 5", "a walk through {t_nowhere}\n")
    with pytest.raises(UsageError, match="options only on its first line"):
        ip.run_cell_magic("omni", "list", "a prompt\n")
    with pytest.raises(UsageError, match="--aspect"):
        ip.run_cell_magic("omni", "--aspect square", "a prompt\n")
    assert len(sb.created_task_ids) == created


def test_bad_input_in_a_cell_shows_one_line(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ip.run_cell("%omni a cat --aspect 4:3")
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err.strip()
    assert err == (
        "UsageError: --aspect/--aspect-ratio: '4:3' is not offered; allowed: one of "
        "'16:9', '9:16', 'auto' (see %omni --help)"
    )


def test_service_errors_show_one_line_without_the_key(
    ip: InteractiveShell, sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNI_API_KEY", "sk-sandbox-401")
    created = len(sb.created_task_ids)
    result = ip.run_cell("%omni a cat on a skateboard")
    error = result.error_in_exec
    assert isinstance(error, AuthenticationError)
    rendered = error._render_traceback_()  # type: ignore[attr-defined]
    assert len(rendered) == 1 and rendered[0].startswith("AuthenticationError: HTTP 401")
    assert "sk-sandbox-401" not in rendered[0]
    assert len(sb.created_task_ids) == created


# --- subcommands ------------------------------------------------------------------------------


def test_list_and_status_show_this_sessions_tasks(
    ip: InteractiveShell, sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    omni(ip, "a windmill at night --duration 3 --wait -o t_r")
    result = ip.user_ns["t_r"]
    capsys.readouterr()
    omni(ip, "list")
    table = capsys.readouterr().out
    header, row = table.splitlines()[:2]
    assert header.split() == ["ID", "KIND", "STATUS", "CREATED", "FILE", "PROMPT"]
    assert row.startswith(result.task.id)
    assert "TextToVideo" in row and " saved " in row and str(result.path.absolute()) in row
    assert row.endswith("a windmill at night")
    omni(ip, "status")
    newest = capsys.readouterr().out
    omni(ip, f"status {result.task.id}")
    by_id = capsys.readouterr().out
    assert newest == by_id
    assert by_id.startswith(result.task.id) and f"file: {result.path}" in by_id


def test_status_of_a_task_created_elsewhere_asks_the_service(
    ip: InteractiveShell, sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    with OmniClient(sb.api_key, sb.base_url) as client:
        task = client.submit(TextToVideo("made elsewhere", duration=3))
    omni(ip, f"status {task.id}")
    out = capsys.readouterr().out
    assert out.startswith(task.id) and TextToVideo.model in out and "completed 100%" in out
    assert f"%omni resume {task.id}" in out
    assert find_job(task.id) is None  # asking creates no job


def test_status_of_an_unknown_task_is_one_line(ip: InteractiveShell, sb: Sandbox) -> None:
    result = ip.run_cell("%omni status task-unified-1700000000-nosuchid")
    error = result.error_in_exec
    assert error is not None
    rendered = error._render_traceback_()  # type: ignore[attr-defined]
    assert len(rendered) == 1 and "task-unified-1700000000-nosuchid" in rendered[0]


def test_resume_a_task_created_elsewhere(ip: InteractiveShell, sb: Sandbox) -> None:
    with OmniClient(sb.api_key, sb.base_url) as client:
        waited = client.submit(TextToVideo("from before a restart", duration=3))
        watched = client.submit(TextToVideo("from another notebook", duration=3))
    created = list(sb.created_task_ids)
    omni(ip, f"resume {waited.id} --wait -o t_r")
    assert ip.user_ns["t_r"].path.is_file()

    async def body() -> None:
        omni(ip, f"resume {watched.id} -o t_t")
        job = find_job(watched.id)
        assert job is not None and job.running and ip.user_ns["t_t"].id == watched.id
        await until_done(job)
        assert job.phase == "completed" and job.path is not None and job.path.is_file()

    in_loop(body)
    assert sb.created_task_ids == created  # resuming never creates a task


def test_wait_takes_over_a_job_watched_in_the_background(
    ip: InteractiveShell, sb: Sandbox, cards: list[TaskCard]
) -> None:
    sb.speed = 100.0  # about half a second of real time: still running when wait starts

    async def body() -> None:
        omni(ip, "a heron takes off --duration 3 -o t_task")
        task_id = ip.user_ns["t_task"].id
        job = find_job(task_id)
        assert job is not None and job.running
        await asyncio.sleep(0.05)  # as between two cells: the watcher starts, then sleeps
        omni(ip, f"wait {task_id} -o t_r")  # blocks here; the loop (and watcher) cannot run
        assert job.phase == "completed" and ip.user_ns["t_r"].path == job.path
        queries = [r for r in sb.requests if r.path == f"/v1/tasks/{task_id}"]
        await asyncio.sleep(0.5)  # let the loop run: the old watcher must end quietly, at once
        assert job.phase == "completed" and job.error is None and not job.running
        assert [r for r in sb.requests if r.path == f"/v1/tasks/{task_id}"] == queries
        assert [c.job for c in cards] == [job, job]  # its first card, and one in the wait cell
        downloads = [r for r in sb.requests if r.path.endswith(f"{task_id}.mp4")]
        assert len(downloads) == 1

    in_loop(body)


def test_wait_for_a_finished_task_shows_it_playing(
    ip: InteractiveShell, sb: Sandbox, cards: list[TaskCard]
) -> None:
    omni(ip, "a quiet harbour --wait -o t_first")
    first = ip.user_ns["t_first"]
    requests = len(sb.requests)
    omni(ip, f"wait {first.task.id} -o t_again")
    assert ip.user_ns["t_again"] == first
    assert video_bytes(cards[-1]) == first.path.read_bytes()
    assert len(sb.requests) == requests  # already saved: nothing asked


def test_config_shows_settings_with_the_key_masked(
    ip: InteractiveShell, sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    omni(ip, "config")
    out = capsys.readouterr().out
    assert sb.api_key not in out
    assert "••••" in out and "(from OMNI_API_KEY)" in out
    assert f"{sb.base_url} (from OMNI_BASE_URL)" in out
    assert "duration=5" in out and "aspect_ratio='16:9'" in out and "wait=False" in out
    ip.run_line_magic("config", "OmniMagics.duration = 6")
    omni(ip, "config")
    assert "duration=6" in capsys.readouterr().out


def test_sandbox_subcommand_and_no_key_means_the_sandbox(
    ip: InteractiveShell,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cards: list[TaskCard],
) -> None:
    monkeypatch.delenv("OMNI_API_KEY")
    monkeypatch.delenv("OMNI_BASE_URL")
    stop_shared_sandbox()
    try:
        omni(ip, "sandbox start")
        started = capsys.readouterr().out
        assert "The sandbox runs at http://127.0.0.1:" in started
        assert "for all your kernels" in started and "2 h without requests" in started
        omni(ip, "config")
        url = started.split("runs at ")[1].split()[0].rstrip(":")
        assert f"the shared local sandbox ({url})" in capsys.readouterr().out
        omni(ip, "a sandcastle --duration 3 --wait -o t_r")
        job = find_job(ip.user_ns["t_r"].task.id)
        assert job is not None and job.connection.sandbox
        assert job.connection.base_url in started
        assert cards[-1].job is job and "omni-sandbox-badge" in card_html(cards[-1])
        omni(ip, "config")
        config = capsys.readouterr().out
        assert f"the shared local sandbox ({job.connection.base_url})" in config
        omni(ip, "sandbox stop")
        assert "The sandbox stopped" in capsys.readouterr().out
        omni(ip, "sandbox stop")
        assert "was not running" in capsys.readouterr().out
    finally:
        stop_shared_sandbox()


def test_sandbox_start_with_a_key_says_which_service_is_used(
    ip: InteractiveShell, sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        omni(ip, "sandbox start")
        out = capsys.readouterr().out
        assert f"so %omni uses {sb.base_url}" in out and sb.api_key not in out
    finally:
        stop_shared_sandbox()


WIDGET = "application/vnd.jupyter.widget-view+json"


def test_panel_subcommand_opens_the_panel_once(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[omni_widgets.Panel] = []
    published: list[dict[str, Any]] = []
    real_panel = omni_widgets.panel
    real_publish = ip.display_pub.publish

    def publish(data: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        published.append(data)
        real_publish(data, *args, **kwargs)

    monkeypatch.setattr(ip.display_pub, "publish", publish)

    def panel() -> omni_widgets.Panel:
        calls.append(shown := real_panel())
        return shown

    monkeypatch.setattr("omni_widgets.notebook.panel.panel", panel)
    assert omni(ip, "panel") is None  # displayed by panel() itself, not echoed a second time
    assert len(calls) == 1 and isinstance(calls[0], omni_widgets.Panel)
    views = [d["application/vnd.jupyter.widget-view+json"] for d in published if WIDGET in d]
    assert [v.get("model_id") for v in views] == [calls[0].model_id]
    twins = [d for d in published if calls[0].twin.uid in d.get("text/html", "")]
    assert len(twins) == 1 and len(published) == 2  # the panel and its static twin, once each


def test_a_dollar_name_in_a_task_id_gets_a_hint_and_sends_nothing(
    ip: InteractiveShell, sb: Sandbox
) -> None:
    before = len(sb.requests)
    for line in ("status $tid", "wait $tid", "resume $tid --wait"):
        with pytest.raises(UsageError) as caught:
            omni(ip, line)
        assert "write {tid} to use the variable tid" in str(caught.value)
    assert len(sb.requests) == before


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("duration = 42", "OmniMagics.duration = 42: not a duration; allowed: an integer 3..10"),
        ("aspect_ratio = '4:3'", "OmniMagics.aspect_ratio = '4:3': not an aspect ratio; allowed"),
    ],
)
def test_a_bad_config_value_is_one_readable_line_and_changes_nothing(
    ip: InteractiveShell,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    setting: str,
    expected: str,
) -> None:
    magics = next(c for c in ip.configurables if isinstance(c, OmniMagics))
    before = (magics.duration, magics.aspect_ratio)
    ip.run_line_magic("config", f"OmniMagics.{setting}")
    err = capsys.readouterr().err
    assert err.startswith(f"UsageError: {expected}") and err.count("\n") == 1
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert (magics.duration, magics.aspect_ratio) == before


def test_card_offers_copy_as_code_without_the_key(
    ip: InteractiveShell, sb: Sandbox, cards: list[TaskCard]
) -> None:
    omni(ip, "a green kite --duration 4 --wait")
    toggle = cards[0].copy_code
    assert toggle.layout.display == "" and toggle._panel.layout.display == "none"
    toggle.button.value = True
    assert toggle._panel.layout.display == ""
    python = toggle.code.value
    assert "TextToVideo(" in python and "duration=4" in python and "OMNI_API_KEY" in python
    toggle.kind.value = "curl"
    assert "curl -sS -X POST" in toggle.code.value and sb.base_url in toggle.code.value
    assert all(sb.api_key not in text for text in (python, toggle.code.value))


def test_gallery_subcommand_shows_the_recorded_results(
    ip: InteractiveShell, sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display

    from omni_widgets.notebook.gallery import Gallery

    shown: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    omni(ip, "a blue kite --duration 4 --wait")
    omni(ip, "gallery")
    [gallery] = shown
    assert isinstance(gallery, Gallery) and gallery.total == 1
    assert gallery.items[0]["prompt"] == "a blue kite" and gallery.items[0]["has_video"]
