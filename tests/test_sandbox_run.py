"""Ways to run the sandbox: in-process (also from inside a running event loop, as in a notebook
cell), started and stopped cleanly, and as the `python -m omni_widgets.sandbox` command."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from _kernel import Kernel
from test_sandbox_support import CREATE, T2V, api, body_for, wait_terminal

from omni_widgets.sandbox import Sandbox

pytestmark = pytest.mark.slow  # starts sandbox processes and a kernel

ROOT = Path(__file__).resolve().parents[1]


def test_sandbox_serves_from_inside_a_running_event_loop() -> None:
    async def cell() -> tuple[int, str]:
        asyncio.get_running_loop()  # as in a Jupyter cell: a loop already runs in this thread
        with Sandbox(speed=float("inf")) as sb:
            async with httpx.AsyncClient(base_url=sb.base_url, trust_env=False) as client:
                headers = {"Authorization": f"Bearer {sb.api_key}"}
                created = await client.post(CREATE, json=body_for(T2V), headers=headers)
                task = await client.get(f"/v1/tasks/{created.json()['id']}", headers=headers)
            return created.status_code, task.json()["status"]

    assert asyncio.run(cell()) == (200, "completed")


def test_start_stop_cleans_up_and_can_restart() -> None:
    sb = Sandbox(speed=float("inf"))
    assert not sb.running
    with pytest.raises(RuntimeError):
        _ = sb.base_url
    sb.start()
    assert re.fullmatch(r"sk-sandbox-[A-Za-z0-9_-]{32}", sb.api_key)
    assert Sandbox().api_key != sb.api_key  # a fresh random key per sandbox
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sb.base_url)
    files = sb._state.files_dir
    assert files is not None and files.is_dir()
    with api(sb) as client:
        task_id = client.post(CREATE, json=body_for(T2V, duration=3)).json()["id"]
        url = wait_terminal(client, task_id)["results"][0]
        assert client.get(url).status_code == 200
    assert any(files.glob("*.mp4"))
    old_url = sb.base_url
    sb.stop()
    assert not sb.running
    assert not files.exists()
    assert not any(t.name == "omni-sandbox" for t in threading.enumerate())
    with pytest.raises(httpx.ConnectError):
        httpx.get(old_url, trust_env=False)
    with sb:
        assert httpx.get(sb.base_url, trust_env=False).status_code == 200
    sb.stop()  # stopping twice is harmless


def test_listens_on_loopback_only_by_default() -> None:
    with Sandbox() as sb:
        assert sb.host == "127.0.0.1"
        assert sb.base_url.startswith("http://127.0.0.1:")


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, omni_widgets.sandbox as s; s.Sandbox; "
        "heavy = ('av', 'numpy', 'PIL', 'uvicorn', 'starlette'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@contextmanager
def cli(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run the CLI on a free port; yield the process and its announced base URL (the next line
    of its output announces the key)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "omni_widgets.sandbox", "--port", "0", *args],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        yield process, match[1]
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(10)


def announced_key(process: subprocess.Popen[str]) -> str:
    """The key from the CLI's "API key: ..." line."""
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"API key: (\S+)", line)
    assert match, line
    return match[1]


def test_cli_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "omni_widgets.sandbox", "--help"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0
    for option in ("--port", "--host", "--speed", "--ttl", "--seed", "--fault", "sk-sandbox-402"):
        assert option in out.stdout


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_stopped(stop: signal.Signals) -> None:
    with cli("--speed", "inf", "--seed", "1") as (process, base_url):
        headers = {"Authorization": f"Bearer {announced_key(process)}"}
        with httpx.Client(base_url=base_url, headers=headers, trust_env=False) as client:
            created = client.post(CREATE, json=body_for(T2V, duration=3))
            task = client.get(f"/v1/tasks/{created.json()['id']}").json()
        assert task["status"] == "completed"
        process.send_signal(stop)
        assert process.wait(10) == 0
        assert "stopped" in process.stdout.read()


def test_cli_faults() -> None:
    with cli("--speed", "inf", "--fault", "rate_limit:on=create,count=1,retry_after=2") as (
        process,
        base_url,
    ):
        headers = {"Authorization": f"Bearer {announced_key(process)}"}
        with httpx.Client(base_url=base_url, headers=headers, trust_env=False) as client:
            first = client.post(CREATE, json=body_for(T2V))
            second = client.post(CREATE, json=body_for(T2V))
    assert (first.status_code, first.headers["retry-after"]) == (429, "2")
    assert second.status_code == 200


def test_cli_rejects_a_bad_fault() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "omni_widgets.sandbox", "--fault", "rate_limit:count=zero"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert "count must be a positive integer" in out.stderr


KERNEL_CELL = """
import sys, asyncio, httpx
sys.path.insert(0, {root!r})
from omni_widgets.sandbox import Sandbox
_loop_running = asyncio.get_running_loop().is_running()
sb = Sandbox(speed=float("inf")).start()
_h = {{"Authorization": f"Bearer {{sb.api_key}}"}}
_body = {{"model": "gemini-omni-flash-text-to-video", "prompt": "kernel", "duration": 3}}
_id = httpx.post(sb.base_url + "/v1/videos/generations", json=_body, headers=_h, trust_env=False)
_status = httpx.get(sb.base_url + "/v1/tasks/" + _id.json()["id"], headers=_h, trust_env=False)
sb.stop()
"""


@pytest.mark.kernel
def test_sandbox_runs_inside_a_jupyter_kernel_cell(kernel: Kernel) -> None:
    kernel.execute(KERNEL_CELL.format(root=str(ROOT)), timeout=60)
    assert kernel.value("_loop_running") is True
    assert kernel.value("_status.json()['status']") == "completed"
    assert kernel.value("sb.running") is False
