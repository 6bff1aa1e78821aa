"""The task ledger: its file and schema, every transition the clients record, history filters,
several processes writing at once, and resume_pending against the sandbox."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from _mock import BASE, KEY, MP4, Script, client, completed, created, error, png, task_body

from omni_widgets import (
    AsyncOmniClient,
    ImageToVideo,
    InvalidRequestError,
    Ledger,
    LedgerRecord,
    NotFoundError,
    OmniClient,
    OutcomeUnknownError,
    Task,
    TaskFailedError,
    TextToVideo,
    URLExpiredError,
)
from omni_widgets.core import ledger as ledger_module
from omni_widgets.core.ledger import merge_status, schema_version
from omni_widgets.core.settings import LEDGER_FILE, resolve_ledger
from omni_widgets.sandbox import Sandbox

ID = "task-unified-1-abc"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "tasks.sqlite3")


def rows(path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM tasks ORDER BY row_id")]


def file_bytes(path: Path) -> bytes:
    """The database and its WAL, as they are on disk."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


# --- the file and its schema ------------------------------------------------------------------


def test_schema_wal_and_version(ledger: Ledger) -> None:
    ledger.record_submitting(BASE, TextToVideo("a kite"))
    with sqlite3.connect(ledger.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(schema_version(),)]
        columns = {r[1] for r in db.execute("PRAGMA table_info(tasks)")}
    assert {"task_id", "gateway", "base_url", "status", "path", "size", "sha256", "pid"} <= columns
    assert {"kernel", "created_at", "updated_at", "request"} <= columns
    [row] = rows(ledger.path)
    assert row["status"] == "submitting" and row["task_id"] is None
    assert row["gateway"] == "evolink" and row["base_url"] == BASE


def test_nothing_is_created_until_the_first_write(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "sub" / "tasks.sqlite3")
    assert ledger.records() == []
    assert not (tmp_path / "sub").exists()


def test_migration_from_an_older_schema_keeps_rows(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.record_task(BASE, Task(id=ID, status="processing"))
    ledger.close()

    def add_priority(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 3")

    monkeypatch.setattr(ledger_module, "MIGRATIONS", [*ledger_module.MIGRATIONS, add_priority])
    newer = Ledger(ledger.path)
    [record] = newer.records()
    assert (record.task_id, record.status) == (ID, "processing")
    with sqlite3.connect(ledger.path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(schema_version(),)]
        assert db.execute("SELECT priority FROM tasks").fetchall() == [(3,)]


def test_migration_from_version_zero(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    sqlite3.connect(path).close()  # an empty file: version 0
    assert Ledger(path).records() == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(schema_version(),)]


def test_a_newer_schema_is_refused_and_the_operation_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "newer.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (99)")
    with pytest.raises(ledger_module.LedgerError, match="schema version 99"):
        Ledger(path).records()
    script = Script(posts=[created()])
    with caplog.at_level(logging.WARNING, "omni_widgets"):
        task = client(script, ledger=path).submit(TextToVideo("a kite"))
    assert task.id == ID
    assert "could not record" in caplog.text and "schema version 99" in caplog.text
    assert KEY not in caplog.text


def test_a_file_that_is_not_a_ledger_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_text("shopping list: eggs, milk, and a great deal more text than a header")
    with pytest.raises(ledger_module.LedgerError, match=r"cannot use the task ledger .*notes"):
        Ledger(path).records()


# --- where the ledger is ----------------------------------------------------------------------


def test_default_is_inside_the_output_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OMNI_LEDGER")
    monkeypatch.chdir(tmp_path)
    c = OmniClient(KEY, BASE)
    assert c.ledger is not None
    assert c.ledger.path == tmp_path / "omni_outputs" / LEDGER_FILE
    assert c.settings.ledger_source == "default"


def test_env_var_path_folder_and_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNI_LEDGER", str(tmp_path / "mine.db"))
    assert resolve_ledger() == (tmp_path / "mine.db", "OMNI_LEDGER")
    monkeypatch.setenv("OMNI_LEDGER", str(tmp_path))
    assert resolve_ledger() == (tmp_path / LEDGER_FILE, "OMNI_LEDGER")
    for off in ("off", "0", "False", "none"):
        monkeypatch.setenv("OMNI_LEDGER", off)
        assert OmniClient(KEY, BASE).ledger is None
    c = OmniClient(KEY, BASE, ledger=tmp_path / "arg.db")
    assert c.ledger is not None and c.ledger.path == tmp_path / "arg.db"


def test_a_ledger_object_is_shared(ledger: Ledger) -> None:
    script = Script(posts=[created()])
    a = client(script, ledger=ledger)
    b = client(script, ledger=ledger)
    assert a.ledger is b.ledger is ledger
    a.submit(TextToVideo("a kite"))
    assert [r.task_id for r in b.history()] == [ID]


def test_ledger_false_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OMNI_LEDGER")
    script = Script(
        posts=[created()], gets=[completed()], downloads=[httpx.Response(200, content=MP4)]
    )
    c = client(script, ledger=False)
    result = c.generate(TextToVideo("a kite"), on_update=lambda _: None)
    assert result.path.is_file()
    assert c.ledger is None and c.history() == [] and c.resume_pending() == []
    assert not list(tmp_path.rglob("*.sqlite3"))


def test_a_broken_ledger_never_fails_an_operation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    script = Script(
        posts=[created()], gets=[completed()], downloads=[httpx.Response(200, content=MP4)]
    )
    c = client(script, ledger=blocker / "tasks.sqlite3")
    with caplog.at_level(logging.WARNING, "omni_widgets"):
        result = c.generate(TextToVideo("a kite"), dest=tmp_path, on_update=lambda _: None)
    assert result.path == tmp_path / f"{ID}.mp4" and result.path.is_file()
    assert "could not record" in caplog.text and KEY not in caplog.text
    assert c.history() == []


# --- what is recorded -------------------------------------------------------------------------


def test_every_transition_of_a_generation(ledger: Ledger, tmp_path: Path) -> None:
    seen: list[str] = []

    def create(request: httpx.Request) -> httpx.Response:
        [row] = rows(ledger.path)  # written before the create went out
        seen.append(row["status"])
        return created()

    script = Script(
        posts=[create],
        gets=[
            httpx.Response(200, json=task_body(ID, "processing", 40)),
            httpx.Response(200, json=task_body(ID, "processing", 80)),
            completed(),
        ],
        downloads=[httpx.Response(200, content=MP4)],
    )
    c = client(script, ledger=ledger)
    statuses: list[str] = []
    original = ledger.record_task

    def spy(base_url: str, task: Task, **kwargs: Any) -> None:
        original(base_url, task, **kwargs)
        statuses.append(ledger.records()[0].status)

    ledger.record_task = spy  # type: ignore[method-assign]
    result = c.generate(TextToVideo("a kite"), dest=tmp_path, on_update=lambda _: None)
    assert seen == ["submitting"]
    assert statuses == ["processing", "completed"]  # one write per status, not per progress
    [record] = c.history()
    assert isinstance(record, LedgerRecord)
    assert (record.task_id, record.status, record.path) == (ID, "saved", result.path)
    assert record.size == len(MP4)
    assert record.sha256 is not None and len(record.sha256) == 64
    assert record.video_url == "https://cdn.test/v.mp4" and record.completed_at is not None
    assert record.request is not None and record.request["prompt"] == "a kite"
    assert record.model == "gemini-omni-flash-text-to-video" and record.prompt == "a kite"
    assert record.created_at <= record.updated_at


def test_a_refused_create_is_rejected(ledger: Ledger) -> None:
    c = client(Script(posts=[error(400, "invalid_request", "bad prompt")]), ledger=ledger)
    with pytest.raises(InvalidRequestError):
        c.submit(TextToVideo("a kite"))
    [record] = c.history()
    assert record.status == "rejected" and record.task_id is None
    assert record.error is not None and "bad prompt" in record.error
    assert not record.unfinished


def test_an_unknown_outcome_is_kept_as_unknown(ledger: Ledger) -> None:
    c = client(Script(posts=[httpx.ReadTimeout("lost")]), ledger=ledger)
    with pytest.raises(OutcomeUnknownError):
        c.submit(TextToVideo("a kite"))
    [record] = c.history()
    assert record.status == "unknown" and record.unfinished
    assert record.error is not None and "OutcomeUnknownError" in record.error
    [outcome] = c.resume_pending()
    assert (outcome.task_id, outcome.state) == (None, "unknown")
    assert "https://evolink.ai/dashboard" in outcome.message


def test_an_unknown_outcome_on_toapis_points_to_toapis(ledger: Ledger) -> None:
    c = client(Script(posts=[httpx.ReadTimeout("lost")]), ledger=ledger, gateway="toapis")
    with pytest.raises(OutcomeUnknownError):
        c.submit(TextToVideo("a kite", duration=6))
    [outcome] = c.resume_pending()
    assert outcome.state == "unknown"
    assert "https://toapis.com" in outcome.message and "evolink" not in outcome.message


def test_a_create_interrupted_in_flight_is_unknown(ledger: Ledger) -> None:
    def interrupted(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt  # the user stopped the cell while the create was out

    c = client(Script(posts=[interrupted]), ledger=ledger)
    with pytest.raises(KeyboardInterrupt):
        c.submit(TextToVideo("a kite"))
    gc.collect()  # the abandoned operation closes, and says so
    [record] = c.history()
    assert record.status == "unknown" and record.task_id is None
    assert record.error is not None and "in flight" in record.error


def test_an_unknown_outcome_keeps_an_id_the_error_carries(ledger: Ledger) -> None:
    row = ledger.record_submitting(BASE, TextToVideo("a kite"))
    ledger.record_outcome(row, "unknown", "lost", task_id=ID)
    [record] = ledger.records()
    assert (record.task_id, record.status) == (ID, "unknown")


def test_no_row_without_a_key(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OMNI_API_KEY", "EVOLINK_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    c = OmniClient(None, BASE, ledger=ledger)
    with pytest.raises(Exception, match="no API key"):
        c.submit(TextToVideo("a kite"))
    assert ledger.records() == []


def test_a_failed_task_records_its_reason(ledger: Ledger) -> None:
    failed = task_body(
        ID, "failed", 0, error={"code": "content_policy_violation", "message": "no faces"}
    )
    c = client(Script(posts=[created()], gets=[httpx.Response(200, json=failed)]), ledger=ledger)
    with pytest.raises(TaskFailedError):
        c.generate(TextToVideo("a kite"), on_update=lambda _: None)
    [record] = c.history()
    assert record.status == "failed"
    assert record.error == "content_policy_violation: no faces"


def test_a_failed_download_stays_completed_with_its_reason(ledger: Ledger, tmp_path: Path) -> None:
    script = Script(
        posts=[created()], gets=[completed()], downloads=[httpx.Response(200, content=b"<html>")]
    )
    c = client(script, ledger=ledger)
    with pytest.raises(Exception, match="not an MP4"):
        c.generate(TextToVideo("a kite"), dest=tmp_path, on_update=lambda _: None)
    [record] = c.history()
    assert record.status == "completed" and record.unfinished
    assert record.error is not None and "not an MP4" in record.error


def test_an_expired_url_is_recorded(ledger: Ledger, tmp_path: Path) -> None:
    script = Script(posts=[created()], gets=[completed()], downloads=[httpx.Response(403)])
    c = client(script, ledger=ledger)
    with pytest.raises(URLExpiredError):
        c.generate(TextToVideo("a kite"), dest=tmp_path, on_update=lambda _: None)
    assert c.history()[0].status == "expired"


def test_a_task_looked_up_by_id_is_recorded(ledger: Ledger) -> None:
    c = client(Script(gets=[completed()]), ledger=ledger)
    c.get(ID)
    [record] = c.history()
    assert (record.task_id, record.status, record.request) == (ID, "completed", None)


def test_a_task_the_service_forgot_is_not_found(ledger: Ledger) -> None:
    c = client(Script(gets=[error(404, "not_found", "no such task")]), ledger=ledger)
    with pytest.raises(NotFoundError):
        c.wait(ID)
    assert c.history()[0].status == "not found"


def test_status_never_moves_back() -> None:
    assert merge_status("completed", "processing") == "completed"
    assert merge_status("saved", "completed") == "saved"
    assert merge_status("expired", "saved") == "saved"
    assert merge_status("unknown", "pending") == "pending"
    assert merge_status("completed", "expired") == "expired"


def test_no_key_and_no_image_data_on_disk(ledger: Ledger, tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(png())
    request = ImageToVideo("the cat turns", str(image))
    c = client(
        Script(posts=[created("task-unified-1-a"), created("task-unified-2-b")]), ledger=ledger
    )
    c.submit(request)
    c.submit(ImageToVideo("from bytes", png(400, 300)))
    ledger.close()
    raw = file_bytes(ledger.path)
    assert KEY.encode() not in raw
    assert b"base64" not in raw and request.image[30:90].encode() not in raw
    from_file, from_bytes = (json.loads(r["request"])["image_urls"][0] for r in rows(ledger.path))
    assert from_file["path"] == str(image)
    assert from_file["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
    assert from_file["format"] == "png" and from_file["bytes"] == image.stat().st_size
    assert from_bytes["path"] is None
    assert from_bytes["sha256"] == hashlib.sha256(png(400, 300)).hexdigest()


# --- history ----------------------------------------------------------------------------------


def test_history_filters_newest_first(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(1000, 2000))
    monkeypatch.setattr(ledger_module.time, "time", lambda: float(next(clock)))
    for i, status in enumerate(["completed", "failed", "processing", "saved", "pending"]):
        ledger.record_task(BASE, Task(id=f"task-{i}", status=status))
    ledger.record_task("http://other", Task(id="task-x", status="pending"))
    c = OmniClient(KEY, BASE, ledger=ledger)
    assert [r.task_id for r in c.history()] == [
        "task-x",
        "task-4",
        "task-3",
        "task-2",
        "task-1",
        "task-0",
    ]
    assert [r.task_id for r in c.history(status="failed")] == ["task-1"]
    assert [r.task_id for r in c.history(status=["saved", "failed"])] == ["task-3", "task-1"]
    assert [r.task_id for r in c.history(unfinished=True)] == [
        "task-x",
        "task-4",
        "task-2",
        "task-0",
    ]
    assert [r.task_id for r in c.history(unfinished=True, status="failed")] == []
    since = c.history()[2].created_at
    assert [r.task_id for r in c.history(since=since)] == ["task-x", "task-4", "task-3"]
    assert [r.task_id for r in c.history(limit=2)] == ["task-x", "task-4"]


# --- several processes at once ----------------------------------------------------------------

WRITER = """
import sys, time
from omni_widgets import Ledger, Task, TextToVideo
path, me, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
while time.time() < go:
    time.sleep(0.001)
ledger = Ledger(path)
for i in range(count):
    row = ledger.record_submitting("http://sb", TextToVideo(f"prompt {me} {i}"))
    task = Task(id=f"task-{me}-{i}", status="pending")
    ledger.record_created(row, task)
    ledger.record_task("http://sb", Task(id=task.id, status="processing"))
"""


def test_several_processes_write_at_once_and_no_row_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    writers, count = 4, 40
    go = time.time() + 2.0  # every process starts writing at the same moment
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(n), str(count), str(go)])
        for n in range(writers)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * writers
    records = Ledger(path).records()
    assert len(records) == writers * count
    assert {r.task_id for r in records} == {
        f"task-{n}-{i}" for n in range(writers) for i in range(count)
    }
    assert {r.status for r in records} == {"processing"}
    assert len({r.pid for r in records}) == writers
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- resume_pending against the sandbox -------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=float("inf"), seed=3) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.faults.clear()
    sandbox.ttl = 24 * 3600
    sandbox.reset_log()
    yield sandbox
    sandbox.ttl = 24 * 3600


def sandbox_client(sb: Sandbox, ledger: Ledger) -> OmniClient:
    c = OmniClient(sb.api_key, sb.base_url, ledger=ledger)
    c._sleep = lambda seconds: None
    return c


def test_resume_pending_saves_what_an_earlier_session_left(
    sb: Sandbox, ledger: Ledger, tmp_path: Path
) -> None:
    earlier = sandbox_client(sb, ledger)
    ids = [earlier.submit(TextToVideo(f"kite {i}", duration=3)).id for i in range(3)]
    failing = earlier.submit(
        TextToVideo("a storm [[fail:content_policy_violation]]", duration=3)
    ).id
    later = sandbox_client(sb, ledger)  # a new session: knows nothing but the ledger
    outcomes = later.resume_pending(dest=tmp_path, on_update=lambda _: None)
    by_id = {o.task_id: o for o in outcomes}
    assert set(by_id) == {*ids, failing}
    for task_id in ids:
        assert by_id[task_id].state == "saved"
        assert by_id[task_id].path == tmp_path / f"{task_id}.mp4"
        assert by_id[task_id].path.is_file()  # type: ignore[union-attr]
    assert by_id[failing].state == "failed"
    statuses = {r.task_id: r.status for r in later.history()}
    assert statuses == {**dict.fromkeys(ids, "saved"), failing: "failed"}
    assert later.history(unfinished=True) == []
    assert len(sb.created_task_ids) == 4  # nothing was created again
    assert later.resume_pending() == []


def test_resume_pending_marks_an_expired_url(sb: Sandbox, ledger: Ledger, tmp_path: Path) -> None:
    earlier = sandbox_client(sb, ledger)
    task = earlier.wait(earlier.submit(TextToVideo("a kite")))
    assert ledger.records()[0].status == "completed"
    sb.ttl = 1e-6  # the sandbox's URL has died
    [outcome] = sandbox_client(sb, ledger).resume_pending(dest=tmp_path)
    assert (outcome.task_id, outcome.state, outcome.path) == (task.id, "expired", None)
    assert "expired" in outcome.message
    [record] = ledger.records()
    assert record.status == "expired" and record.error is not None
    assert not (tmp_path / f"{task.id}.mp4").exists()


def test_resume_pending_skips_urls_past_24_hours(sb: Sandbox, ledger: Ledger) -> None:
    old = Task(id="task-unified-1-old", status="completed", completed_at=time.time() - 25 * 3600)
    ledger.record_task(sb.base_url, old)
    [outcome] = sandbox_client(sb, ledger).resume_pending()
    assert (outcome.task_id, outcome.state) == (old.id, "expired")
    assert sb.requests == []  # not even asked
    assert ledger.records()[0].status == "expired"


def test_the_services_own_url_expiry_wins_over_24_hours(sb: Sandbox, ledger: Ledger) -> None:
    # ToAPIs says when its URL dies; an hour-old completion whose URL already died is expired.
    done = time.time() - 3600
    task = Task(id="task-unified-1-dead", status="completed", completed_at=done)
    ledger.record_task(sb.base_url, replace(task, expires_at=done + 60))
    assert ledger.records()[0].url_expires_at == pytest.approx(done + 60)
    [outcome] = sandbox_client(sb, ledger).resume_pending()
    assert (outcome.task_id, outcome.state) == (task.id, "expired")
    assert sb.requests == []  # not even asked
    ledger.record_task(sb.base_url, Task(id="task-unified-2-live", completed_at=done))
    assert ledger.records()[0].url_expires_at == pytest.approx(done + 24 * 3600)


def test_a_version_3_ledger_gains_the_expiry_column(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (0)")
        for migrate in ledger_module.MIGRATIONS[:3]:
            migrate(db)
        db.execute("UPDATE schema_version SET version = 3")
    db.close()
    old = Ledger(path)
    old.record_task(BASE, Task(id=ID, status="completed", completed_at=1000.0))
    [record] = old.records()
    assert record.service_url_expiry is None and record.url_expires_at == 1000.0 + 24 * 3600
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(4,)]


def test_resume_pending_marks_a_task_the_sandbox_no_longer_knows(
    sb: Sandbox, ledger: Ledger
) -> None:
    ledger.record_task(sb.base_url, Task(id="task-unified-1-gone", status="processing"))
    ledger.record_task("http://elsewhere", Task(id="task-unified-2-other", status="processing"))
    [outcome] = sandbox_client(sb, ledger).resume_pending()
    assert (outcome.task_id, outcome.state) == ("task-unified-1-gone", "not found")
    statuses = {r.task_id: r.status for r in ledger.records()}
    assert statuses == {"task-unified-1-gone": "not found", "task-unified-2-other": "processing"}


def test_async_resume_pending(sb: Sandbox, ledger: Ledger, tmp_path: Path) -> None:
    ids = [
        sandbox_client(sb, ledger).submit(TextToVideo(f"kite {i}", duration=3)).id for i in range(3)
    ]

    async def main() -> list[Any]:
        async with AsyncOmniClient(sb.api_key, sb.base_url, ledger=ledger) as c:
            c._sleep = lambda seconds: asyncio.sleep(0)
            return await c.resume_pending(dest=tmp_path)

    outcomes = asyncio.run(main())
    assert sorted((o.task_id, o.state) for o in outcomes) == sorted((i, "saved") for i in ids)
    assert all(o.path is not None and o.path.is_file() for o in outcomes)
    assert {r.status for r in ledger.records()} == {"saved"}


def test_a_lost_create_of_a_dead_process_becomes_unknown(ledger: Ledger) -> None:
    row = ledger.record_submitting(BASE, TextToVideo("a kite"))
    with sqlite3.connect(ledger.path) as db:
        db.execute("UPDATE tasks SET created_at = created_at - 7200 WHERE row_id = ?", (row,))
    c = OmniClient(KEY, BASE, ledger=ledger)
    [outcome] = c.resume_pending()
    assert outcome.state == "unknown" and outcome.row_id == row
    assert ledger.records()[0].status == "unknown"


def test_a_create_in_flight_elsewhere_is_left_alone(ledger: Ledger) -> None:
    ledger.record_submitting(BASE, TextToVideo("a kite"))  # this very process, just now
    assert OmniClient(KEY, BASE, ledger=ledger).resume_pending() == []
    assert ledger.records()[0].status == "submitting"
