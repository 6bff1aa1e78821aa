"""``%omni list`` and ``%omni resume`` (no id) over the task ledger, and the panel's resumed cards:
tasks an earlier session recorded are listed, watched and saved, with no new create."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from test_magics import (  # the shell, sandbox and card fixtures of the magics tests
    cards,
    fast_polls,
    in_loop,
    ip,
    omni,
    sandbox,
    sb,
    until_done,
)

from omni_widgets import Ledger, OmniClient, Panel, Task, TextToVideo
from omni_widgets.notebook.card import TaskCard
from omni_widgets.notebook.connection import Connection
from omni_widgets.notebook.resumed import ORIGIN
from omni_widgets.sandbox import Sandbox

__all__ = ["cards", "fast_polls", "ip", "sandbox", "sb"]  # fixtures used by name

GONE = "task-unified-1700000000-gone"
STALE = "task-unified-1700000001-stale"


@pytest.fixture
def ledger(_isolated_ledger: Path) -> Ledger:
    """The ledger every client and magic of the test uses (OMNI_LEDGER, see conftest)."""
    return Ledger(_isolated_ledger)


def backdate(ledger: Ledger, task_id: str, hours: float) -> None:
    with sqlite3.connect(ledger.path) as db:
        db.execute(
            "UPDATE tasks SET created_at = created_at - ? WHERE task_id = ?",
            (hours * 3600, task_id),
        )


def listed(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], options: str = ""
) -> list[str]:
    """The task ids ``%omni list`` prints, in order."""
    capsys.readouterr()
    omni(ip, f"list {options}")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "KIND", "STATUS", "CREATED", "FILE", "PROMPT"]
    return [line.split()[0] for line in lines[1:] if line.startswith("task-")]


def earlier_session(sb: Sandbox, count: int) -> list[str]:
    """Tasks created by another client (an earlier kernel) and left unwatched."""
    with OmniClient(sb.api_key, sb.base_url) as client:
        return [client.submit(TextToVideo(f"earlier {i}", duration=3)).id for i in range(count)]


def test_list_shows_every_session_newest_first_with_filters(
    ip: InteractiveShell, ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    for task_id, status in [
        ("task-a-yesterday", "failed"),
        ("task-b-processing", "processing"),
        ("task-c-saved", "completed"),
        ("task-d-failed", "failed"),
    ]:
        ledger.record_task("http://elsewhere", Task(id=task_id, status=status))
    backdate(ledger, "task-a-yesterday", 30)
    assert listed(ip, capsys) == [
        "task-d-failed",
        "task-c-saved",
        "task-b-processing",
        "task-a-yesterday",
    ]
    assert listed(ip, capsys, "--unfinished") == ["task-c-saved", "task-b-processing"]
    assert listed(ip, capsys, "--failed") == ["task-d-failed", "task-a-yesterday"]
    assert listed(ip, capsys, "--today") == ["task-d-failed", "task-c-saved", "task-b-processing"]
    assert listed(ip, capsys, "--failed --today") == ["task-d-failed"]
    omni(ip, "list --unfinished")
    assert "2 unfinished: %omni resume watches and saves those of the service" in (
        capsys.readouterr().out
    )
    ledger.record_task("http://127.0.0.1:8765", Task(id="task-e-other", status="pending"))
    omni(ip, "list --unfinished")
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "KIND", "STATUS", "CREATED", "SERVICE", "FILE", "PROMPT"]
    assert rows[0].split()[0] == "task-e-other" and "127.0.0.1:8765" in rows[0]
    assert "elsewhere" in rows[1]


def test_list_with_nothing_recorded_says_how_to_start(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    omni(ip, "list --failed")
    assert capsys.readouterr().out.startswith("No recorded failed tasks.")


def test_list_options_do_not_apply_to_a_generation(ip: InteractiveShell, sb: Sandbox) -> None:
    before = list(sb.created_task_ids)
    with pytest.raises(UsageError, match="--today applies only to %omni list"):
        omni(ip, "a red kite --today")
    with pytest.raises(UsageError, match="--failed does not apply to %omni status"):
        omni(ip, "status --failed")
    assert sb.created_task_ids == before


def test_resume_without_id_resumes_every_unfinished_task_with_cards(
    ip: InteractiveShell,
    sb: Sandbox,
    ledger: Ledger,
    cards: list[TaskCard],
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = earlier_session(sb, 2)
    ledger.record_task(sb.base_url, Task(id=GONE, status="processing"))
    old = Task(id=STALE, status="completed", completed_at=time.time() - 25 * 3600)
    ledger.record_task(sb.base_url, old)
    created = list(sb.created_task_ids)
    capsys.readouterr()

    async def body() -> None:
        omni(ip, "resume")
        assert sorted(card.job.task_id or "" for card in cards) == sorted([*ids, GONE])
        for card in cards:
            await until_done(card.job)

    in_loop(body)
    out = capsys.readouterr().out
    assert f"{STALE}  expired:" in out and "Resuming 3 unfinished task(s)" in out
    by_id = {card.job.task_id: card.job for card in cards}
    for task_id in ids:
        job = by_id[task_id]
        assert job.phase == "completed" and job.path is not None and job.path.is_file()
        assert job.origin == ORIGIN and job.prompt.startswith("earlier")
        assert ORIGIN in cards[0]._meta.value
    assert by_id[GONE].phase == "error" and GONE in by_id[GONE].error_message
    statuses = {r.task_id: r.status for r in ledger.records()}
    assert statuses == {**dict.fromkeys(ids, "saved"), GONE: "not found", STALE: "expired"}
    assert sb.created_task_ids == created  # resuming never creates a task
    capsys.readouterr()
    omni(ip, "resume")
    assert capsys.readouterr().out.startswith(f"No unfinished tasks of {sb.base_url}")


def test_resume_without_id_and_without_a_loop_names_the_tasks(
    ip: InteractiveShell, sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = earlier_session(sb, 1)
    omni(ip, "resume")
    err = capsys.readouterr().err
    assert "no running event loop" in err and ids[0] in err


def test_resume_without_id_refuses_wait_and_name(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="need a task id"):
        omni(ip, "resume --wait")


@pytest.fixture
def connection(sandbox: Sandbox, tmp_path: Path) -> Iterator[Connection]:
    sandbox.faults.clear()
    sandbox.speed = float("inf")
    yield Connection(sandbox.api_key, sandbox.base_url, True, "sandbox", 0.05)


def test_a_new_panel_shows_and_saves_what_an_earlier_session_left(
    connection: Connection, sandbox: Sandbox, ledger: Ledger, tmp_path: Path
) -> None:
    ids = earlier_session(sandbox, 2)
    created = list(sandbox.created_task_ids)

    async def open_panel() -> Panel:
        panel = Panel(connection=connection, output_dir=tmp_path / "videos")
        for job in panel.jobs:
            assert job._future is not None
            await asyncio.wait_for(asyncio.shield(job._future), timeout=60)
        return panel

    panel = asyncio.run(open_panel())
    assert sorted(job.task_id or "" for job in panel.jobs) == sorted(ids)
    for job, card in zip(panel.jobs, panel.cards.children, strict=True):
        assert isinstance(card, TaskCard) and card.job is job
        assert job.phase == "completed" and job.path == tmp_path / "videos" / f"{job.task_id}.mp4"
        assert ORIGIN in card._meta.value
    assert {r.status for r in ledger.records()} == {"saved"}
    assert sandbox.created_task_ids == created
    later = earlier_session(sandbox, 1)
    assert Panel(connection=connection).jobs == []  # no running loop: nothing could watch it
    assert [r.task_id for r in ledger.records(unfinished=True)] == later


def test_config_names_the_ledger(
    ip: InteractiveShell,
    _isolated_ledger: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    omni(ip, "config")
    assert f"ledger    {_isolated_ledger} (from OMNI_LEDGER)" in capsys.readouterr().out
    monkeypatch.setenv("OMNI_LEDGER", "off")
    omni(ip, "config")
    assert "ledger    off (from OMNI_LEDGER)" in capsys.readouterr().out
