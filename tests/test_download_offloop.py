"""The async client keeps a download's blocking work off the event loop: hashing and writing on a
feeder thread, the fsync and the renames on a worker thread; the saved file is the same."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
from pathlib import Path

import httpx
import pytest
from _mock import MP4, Script, async_client, completed

from omni_widgets import Task
from omni_widgets.core import download

TID = "task-unified-1-abc"


def test_fsync_and_renames_run_off_the_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, set[str]] = {"fsync": set(), "replace": set(), "write": set()}

    def spy(name: str, real: object) -> object:
        def call(*args: object) -> object:
            seen[name].add(threading.current_thread().name)
            return real(*args)  # type: ignore[operator]

        return call

    monkeypatch.setattr(download.os, "fsync", spy("fsync", os.fsync))
    monkeypatch.setattr(download.os, "replace", spy("replace", os.replace))
    monkeypatch.setattr(download.VideoSink, "write", spy("write", download.VideoSink.write))
    script = Script(downloads=[httpx.Response(200, content=MP4)])
    task = Task.from_json(completed().json())

    async def run() -> tuple[Path, str]:
        c = async_client(script)
        return await c.download(task, tmp_path), threading.current_thread().name

    path, loop_thread = asyncio.run(run())
    assert path.read_bytes() == MP4
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["sha256"] == hashlib.sha256(MP4).hexdigest() and record["bytes"] == len(MP4)
    assert seen["fsync"] and seen["replace"] and seen["write"]
    assert loop_thread not in seen["fsync"] | seen["replace"] | seen["write"]


def test_a_large_backlog_waits_for_the_disk_instead_of_growing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "FEED_LIMIT", 64)
    from omni_widgets.core import client as client_module

    monkeypatch.setattr(client_module, "FEED_LIMIT", 64)
    script = Script(downloads=[httpx.Response(200, content=MP4)])  # one chunk past the limit
    task = Task.from_json(completed().json())

    async def run() -> Path:
        return await async_client(script).download(task, tmp_path)

    path = asyncio.run(run())
    assert path.read_bytes() == MP4
    assert download.saved_problem(TID, path) is None
