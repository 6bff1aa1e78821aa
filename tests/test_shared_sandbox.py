"""The shared local sandbox process: found through its private discovery file or started detached
(once, even when two processes ask at once), outliving whoever started it, keeping its tasks across
its own restarts, changing speed over HTTP, and ending when stopped or idle."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_sandbox_support import CREATE, T2V, body_for

from omni_widgets.notebook.connection import connect, shared_sandbox
from omni_widgets.sandbox import SharedSandbox, find_shared, start_shared, stop_shared
from omni_widgets.sandbox._shared import DISCOVERY_FILE, _gone

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    stop_shared(tmp_path)


def _client(shared: SharedSandbox) -> httpx.Client:
    headers = {"Authorization": f"Bearer {shared.api_key}"}
    return httpx.Client(base_url=shared.base_url, headers=headers, trust_env=False, timeout=30)


def _until_gone(pid: int) -> None:
    deadline = time.monotonic() + 60
    while not _gone(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.1)


def test_started_once_found_again_and_stopped(home: Path) -> None:
    shared = start_shared(home)
    discovery = home / DISCOVERY_FILE
    assert stat.S_IMODE(discovery.stat().st_mode) == 0o600
    published = json.loads(discovery.read_text())
    assert published == {
        "url": shared.base_url,
        "port": int(shared.base_url.rsplit(":", 1)[1]),
        "pid": shared.pid,
        "key": shared.api_key,
    }
    assert shared.pid != os.getpid() and shared.api_key not in repr(shared)
    again = start_shared(home)
    assert (again.pid, again.base_url) == (shared.pid, shared.base_url)
    assert shared.api_key not in (home / "sandbox.log").read_text()

    shared.speed = 7
    assert again.speed == 7 and find_shared(home) is not None
    assert stop_shared(home) is True
    _until_gone(shared.pid)
    assert not discovery.exists() and find_shared(home) is None
    assert stop_shared(home) is False


def test_two_processes_starting_at_once_share_one_sandbox(home: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from omni_widgets.sandbox import start_shared;"
        "print(start_shared(Path(sys.argv[1])).pid)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    starters = [
        subprocess.Popen([sys.executable, "-c", code, str(home)], stdout=subprocess.PIPE, env=env)
        for _ in range(2)
    ]
    pids = {int(p.communicate(timeout=120)[0]) for p in starters}
    assert len(pids) == 1
    assert (home / "sandbox.log").read_text().count("serving at") == 1
    # Both starters have exited; the sandbox they share goes on.
    shared = find_shared(home)
    assert shared is not None and shared.pid in pids


def test_tasks_outlive_the_starter_and_the_sandboxs_own_restart(home: Path) -> None:
    code = (
        "import sys, httpx; from pathlib import Path;"
        "from omni_widgets.sandbox import start_shared;"
        "s = start_shared(Path(sys.argv[1])); s.speed = float('inf');"
        "r = httpx.post(s.base_url + '/v1/videos/generations', json={'model': sys.argv[2],"
        " 'prompt': 'a kite'}, headers={'Authorization': 'Bearer ' + s.api_key}, trust_env=False);"
        "print(r.json()['id'])"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(home), T2V],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    task_id = done.stdout.strip()
    first = find_shared(home)
    assert first is not None
    with _client(first) as client:
        assert client.get(f"/v1/tasks/{task_id}").json()["status"] == "completed"
        assert first.created_task_ids == [task_id]
    first.stop()
    _until_gone(first.pid)

    second = start_shared(home)
    assert second.pid != first.pid and second.api_key == first.api_key
    assert second.base_url == first.base_url  # its port again, so earlier result URLs still work
    with _client(second) as client:
        body = client.get(f"/v1/tasks/{task_id}").json()
        assert body["status"] == "completed" and body["results"][0].startswith(second.base_url)
        video = client.get(body["results"][0])
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        assert client.post(CREATE, json=body_for(T2V)).status_code == 200
    assert len(second.created_task_ids) == 1  # only the new one: nothing was re-created


def test_a_stale_discovery_file_is_replaced(home: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    (home / DISCOVERY_FILE).write_text(
        json.dumps({"url": "http://127.0.0.1:9", "port": 9, "pid": int(dead), "key": "k"})
    )
    assert find_shared(home) is None
    shared = start_shared(home)
    assert shared.pid != int(dead) and shared.alive()


def test_it_exits_by_itself_when_idle(home: Path) -> None:
    shared = start_shared(home, idle_exit=1.0)
    _until_gone(shared.pid)
    assert "no request for 1 s: exiting" in (home / "sandbox.log").read_text()
    assert not (home / DISCOVERY_FILE).exists()


def test_connect_without_a_key_uses_the_shared_sandbox(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OMNI_API_KEY", "EVOLINK_API_KEY", "OMNI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    shared_sandbox()  # the session's, now cached in this process
    monkeypatch.setenv("OMNI_SANDBOX_HOME", str(home))
    connection = connect()
    shared = find_shared(home)
    assert shared is not None and connection.sandbox and connection.key_source == "sandbox"
    assert (connection.base_url, connection.api_key) == (shared.base_url, shared.api_key)
    assert shared.api_key not in repr(connection)


def test_a_restart_finds_another_port_when_its_old_one_is_taken(home: Path) -> None:
    first = start_shared(home)
    first.stop()
    _until_gone(first.pid)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # despite TIME_WAIT
        squatter.bind(("127.0.0.1", first.port))
        squatter.listen()
        second = start_shared(home)
        assert second.port != first.port and second.alive()
    assert (home / "last_port").read_text() == str(second.port)
