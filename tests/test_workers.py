"""The async client's worker threads: started ahead of use, the ledger written by one thread in
order, and a forked child starting its own threads instead of waiting on its parent's."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from omni_widgets import AsyncOmniClient
from omni_widgets.core import workers
from omni_widgets.core.client import _call
from omni_widgets.core.protocol import Call


def _threads(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def test_making_a_client_starts_every_worker_thread_before_any_work(tmp_path: Path) -> None:
    AsyncOmniClient(
        "sk-test",
        "http://127.0.0.1:9",
        transport=httpx.MockTransport(lambda r: httpx.Response(500)),
        ledger=tmp_path / "l.sqlite",
    )
    wanted = {"omni-ledger": 1, "omni-download": workers.WRITER_THREADS}
    wanted["omni-files"] = workers.FILE_THREADS
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(len(_threads(name)) == n for name, n in wanted.items()):
            break
        time.sleep(0.02)
    assert {name: len(_threads(name)) for name in wanted} == wanted


def test_ledger_writes_run_in_order_on_the_one_ledger_thread() -> None:
    seen: list[tuple[int, str]] = []

    def write(n: int) -> int:
        time.sleep(0.001 * (5 - n))  # later writes are quicker: only one thread keeps them in order
        seen.append((n, threading.current_thread().name))
        return n

    async def main() -> list[int]:
        return list(await asyncio.gather(*(_call(Call(lambda n=n: write(n))) for n in range(5))))

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert [n for n, _ in seen] == [0, 1, 2, 3, 4]
    assert {name for _, name in seen} == {"omni-ledger_0"}


def test_a_cancelled_callers_write_finishes_and_its_follow_up_runs_on_the_ledger_thread() -> None:
    started, release = threading.Event(), threading.Event()
    followed: list[tuple[object, str]] = []
    done = threading.Event()

    def work() -> str:
        started.set()
        release.wait(10)
        return "row 7"

    def abandoned(result: object) -> None:
        followed.append((result, threading.current_thread().name))
        done.set()

    async def main() -> None:
        call = asyncio.ensure_future(_call(Call(work, abandoned)))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        release.set()
        await asyncio.get_running_loop().run_in_executor(None, done.wait, 10)

    asyncio.run(main())
    assert followed == [("row 7", "omni-ledger_0")]


def test_a_write_queued_behind_another_still_runs_when_its_caller_is_cancelled() -> None:
    busy, release = threading.Event(), threading.Event()
    workers.ledger().submit(lambda: (busy.set(), release.wait(10)))
    assert busy.wait(10)
    ran = threading.Event()

    async def main() -> None:
        call = asyncio.ensure_future(_call(Call(ran.set)))
        await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(main())
    release.set()
    assert ran.wait(10)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_starts_its_own_worker_threads() -> None:
    assert workers.ledger().submit(lambda: 1).result(timeout=10) == 1  # the parent's thread runs
    pid = os.fork()
    if pid == 0:  # the child: its parent's threads did not come along
        code = 1
        try:
            code = 0 if workers.ledger().submit(lambda: 2).result(timeout=10) == 2 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
