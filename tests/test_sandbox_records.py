"""Task records: with a state folder they outlive the sandbox process, and after `record_ttl` they
expire (from memory and disk) and the task answers the vendor's 404, as the service's do."""

from __future__ import annotations

import sqlite3
import stat
import time
from pathlib import Path

from _contract import EVOLINK
from test_sandbox_support import CREATE, I2V, INF, T2V, api, body_for

from omni_widgets.sandbox import DEMO_KEY, Sandbox


def test_a_restarted_sandbox_answers_for_earlier_tasks_and_serves_their_videos(
    tmp_path: Path,
) -> None:
    with Sandbox(speed=INF, state_dir=tmp_path) as first, api(first) as client:
        ids = [client.post(CREATE, json=body_for(m)).json()["id"] for m in (T2V, I2V)]
        before = [client.get(f"/v1/tasks/{task_id}").json() for task_id in ids]
        key, old_url = first.api_key, first.base_url
    assert key != DEMO_KEY and key not in (tmp_path / "tasks.sqlite3").read_bytes().decode("latin1")

    with Sandbox(speed=INF, state_dir=tmp_path) as second, api(second) as client:
        assert second.api_key == key  # the same owner, so the old tasks are still ours
        for task_id, old in zip(ids, before, strict=True):
            answer = client.get(f"/v1/tasks/{task_id}")
            assert answer.status_code == 200
            body = answer.json()
            EVOLINK.response_validator("query", 200).validate(body)
            assert body["status"] == "completed" and body["created"] == old["created"]
            assert body["results"] == [old["results"][0].replace(old_url, second.base_url)]
            video = client.get(body["results"][0])
            assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
            assert video.content[4:8] == b"ftyp" and len(video.content) > 10_000
        assert second.created_task_ids == []  # nothing was created again


def test_an_unfinished_task_resumes_its_timeline_after_a_restart(tmp_path: Path) -> None:
    with Sandbox(speed=0.01, state_dir=tmp_path) as first, api(first) as client:
        task_id = client.post(CREATE, json=body_for(T2V)).json()["id"]
    with Sandbox(speed=INF, state_dir=tmp_path) as second, api(second) as client:
        body = client.get(f"/v1/tasks/{task_id}").json()
        # Planned at speed 0.01 (hours of work): still under way, not restarted nor completed.
        assert body["status"] in ("pending", "processing") and "results" not in body


def test_records_expire_after_record_ttl_from_memory_and_disk(tmp_path: Path) -> None:
    later = lambda: time.time() + 3601  # noqa: E731 - an hour and a second from now
    with Sandbox(speed=INF, state_dir=tmp_path, record_ttl=3600) as sb, api(sb) as client:
        task_id = client.post(CREATE, json=body_for(T2V)).json()["id"]
        url = client.get(f"/v1/tasks/{task_id}").json()["results"][0]
        assert client.get(url).status_code == 200
        tasks = sb._state.tasks
        assert len(tasks) == 1
        tasks.clock = later
        gone = client.get(f"/v1/tasks/{task_id}")
        assert (gone.status_code, gone.json()) == (404, EVOLINK.documented_error("query", 404))
        assert client.get(url).status_code == 404
        assert len(tasks) == 0
        assert list(sb._state.files_dir.glob("*.mp4")) == []  # type: ignore[union-attr]
    with sqlite3.connect(tmp_path / "tasks.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM tasks").fetchone() == (1,)
    again = Sandbox(speed=INF, state_dir=tmp_path, record_ttl=3600)
    again._state.tasks.clock = later
    with again, api(again) as client:
        assert client.get(f"/v1/tasks/{task_id}").status_code == 404
    with sqlite3.connect(tmp_path / "tasks.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM tasks").fetchone() == (0,)


def test_record_ttl_is_read_and_set_through_the_config_endpoint() -> None:
    with Sandbox(speed=INF, record_ttl=100) as sb, api(sb) as client:
        assert client.get("/_sandbox/config").json()["record_ttl"] == 100
        changed = client.post("/_sandbox/config", json={"record_ttl": 5})
        assert changed.json()["record_ttl"] == 5 and sb.record_ttl == 5
        refused = client.post("/_sandbox/config", json={"record_ttl": 0})
        assert refused.status_code == 400 and sb.record_ttl == 5


def test_the_state_folders_key_is_private_and_shared_by_concurrent_starts(tmp_path: Path) -> None:
    keys = {Sandbox(state_dir=tmp_path).api_key for _ in range(3)}
    assert len(keys) == 1
    mode = stat.S_IMODE((tmp_path / "key").stat().st_mode)
    assert mode == 0o600
    assert Sandbox().api_key not in keys  # no state folder: a fresh key of its own
