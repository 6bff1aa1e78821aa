"""The ledger off the event loop: the async client's writes run on the ledger's thread (the
create's row still before the create is sent), and task states are batched, latest state per
task."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from _mock import BASE, KEY, MP4, Script, async_client, completed, created, task_body

from omni_widgets import AsyncOmniClient, Ledger, Task, TaskFailedError, TextToVideo
from omni_widgets.core import workers
from omni_widgets.core.client import NEVER_SENT
from omni_widgets.core.ledger_batch import TaskWrites
from omni_widgets.core.scheduler import Scheduler

ID = "task-unified-1-abc"
WRITES = ("record_submitting", "record_created", "record_tasks", "record_saved")


def spy_threads(ledger: Ledger) -> list[tuple[str, int]]:
    """Wrap the ledger's write methods to record (method, thread id) of every call."""
    calls: list[tuple[str, int]] = []
    for name in WRITES:
        original = getattr(ledger, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls.append((_name, threading.get_ident()))
            return _original(*args, **kwargs)

        setattr(ledger, name, spy)
    return calls


def test_the_async_client_writes_the_ledger_on_worker_threads(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "tasks.sqlite3")
    before_send: list[str] = []

    def create(request: httpx.Request) -> httpx.Response:
        before_send.extend(r.status for r in ledger.records())  # on record before it is sent
        return created()

    script = Script(
        posts=[create],
        gets=[httpx.Response(200, json=task_body(ID, "processing", 40)), completed()],
        downloads=[httpx.Response(200, content=MP4)],
    )
    calls = spy_threads(ledger)

    async def main() -> tuple[int, Path]:
        c = async_client(script, ledger=ledger)
        result = await c.generate(TextToVideo("a kite"), dest=tmp_path)
        return threading.get_ident(), result.path

    loop_thread, path = asyncio.run(main())
    assert before_send == ["submitting"]
    assert {name for name, _ in calls} == set(WRITES)
    assert all(thread != loop_thread for _, thread in calls), calls
    [record] = ledger.records()
    assert (record.task_id, record.status, record.path) == (ID, "saved", path)


def test_a_call_returns_once_its_task_states_are_written(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "tasks.sqlite3")
    refusal = {"code": "content_policy_violation", "message": "no"}
    failed = task_body(ID, "failed", 10, error=refusal)
    script = Script(
        gets=[
            httpx.Response(200, json=task_body(ID, "processing", 5)),
            httpx.Response(200, json=failed),
        ]
    )

    async def main() -> list[str]:
        c = async_client(script, ledger=ledger)
        seen = [r.status for r in ledger.records()]
        assert (await c.get(ID)).status == "processing"
        seen += [r.status for r in ledger.records()]
        with pytest.raises(TaskFailedError):
            await c.wait(ID)
        return [*seen, *(r.status for r in ledger.records())]

    assert asyncio.run(main()) == ["processing", "failed"]


def test_states_gathered_during_a_write_go_in_one_batch_latest_state_each() -> None:
    batches: list[list[tuple[str, int]]] = []
    threads: list[int] = []
    first_started, release = threading.Event(), threading.Event()

    def commit(tasks: list[Task]) -> None:
        threads.append(threading.get_ident())
        if not batches:
            first_started.set()
            release.wait(10)
        batches.append([(t.id, t.progress) for t in tasks])

    async def main() -> int:
        writes = TaskWrites(commit)
        writes.put(Task(id="a", status="processing", progress=1))
        await asyncio.to_thread(first_started.wait, 10)  # the first batch is being written
        writes.put(Task(id="b", status="processing", progress=1))
        writes.put(Task(id="c", status="processing", progress=7))
        writes.put(Task(id="b", status="processing", progress=2))
        assert writes.pending == 2
        release.set()
        await writes.settled()
        assert writes.pending == 0
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert batches == [[("a", 1)], [("b", 2), ("c", 7)]]
    assert loop_thread not in threads


def test_settled_waits_for_the_states_queued_so_far() -> None:
    written: list[str] = []

    async def main() -> list[str]:
        writes = TaskWrites(lambda tasks: written.extend(t.id for t in tasks))
        await writes.settled()  # nothing queued: returns at once
        for name in ("x", "y", "z"):
            writes.put(Task(id=name, status="pending"))
        await writes.settled()
        return list(written)

    assert asyncio.run(main()) == ["x", "y", "z"]


def test_states_an_ended_loop_left_unwritten_are_written_by_the_next() -> None:
    written: list[str] = []
    writes = TaskWrites(lambda tasks: written.extend(t.id for t in tasks))

    async def leave_one() -> None:
        writes.put(Task(id="left", status="processing"))  # the loop ends before its writer runs

    async def next_loop() -> None:
        writes.put(Task(id="new", status="processing"))
        await writes.settled()

    asyncio.run(leave_one())  # its writer, if it started, is cancelled as the loop ends
    asyncio.run(next_loop())
    assert written == ["left", "new"]


def test_a_create_cancelled_while_its_row_is_written_is_recorded_as_never_sent(
    tmp_path: Path,
) -> None:
    """The row is written on a thread that a cancel does not stop: the row then says nothing was
    made, so a later resume does not call the create's outcome unknown."""
    ledger = Ledger(tmp_path / "tasks.sqlite3")
    script = Script(posts=[created()])
    writing = threading.Event()
    original = ledger.record_submitting

    def slow_row(*args: Any, **kwargs: Any) -> Any:
        writing.set()
        threading.Event().wait(0.3)  # the disk is slow; the cancel comes meanwhile
        return original(*args, **kwargs)

    ledger.record_submitting = slow_row  # type: ignore[method-assign]

    async def main() -> None:
        c = async_client(script, ledger=ledger)
        submit = asyncio.ensure_future(c.submit(TextToVideo("a kite")))
        while not writing.is_set():
            await asyncio.sleep(0.01)
        submit.cancel()
        with pytest.raises(asyncio.CancelledError):
            await submit
        for _ in range(200):  # the row's write and its correction finish on worker threads
            if [r.status for r in ledger.records()] == ["rejected"]:
                break
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert script.count("POST") == 0
    [record] = ledger.records()
    assert record.status == "rejected" and record.task_id is None
    assert record.error == NEVER_SENT
    assert ledger.records(unfinished=True) == []


def test_creates_stopped_before_they_left_are_recorded_as_never_sent(tmp_path: Path) -> None:
    """Creates cancelled while they wait for a request slot, or while they wait out a 429
    before trying again, never reached the service: their rows say no task was made. The one
    cancelled in flight may have made its task, and stays unknown."""
    ledger = Ledger(tmp_path / "tasks.sqlite3")
    posts: list[str] = []
    release = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        posts.append(json.loads(request.content)["prompt"])
        if "refused" in posts[-1]:
            return httpx.Response(429, json={"error": {"code": "x"}}, headers={"Retry-After": "30"})
        await release.wait()  # in flight until cancelled
        return created()

    async def main() -> None:
        async with AsyncOmniClient(
            KEY, BASE, transport=httpx.MockTransport(answer), ledger=ledger
        ) as c:
            c.scheduler = Scheduler(limit=1)
            c._sleep = c.scheduler.sleep
            runs = [asyncio.ensure_future(c.submit(TextToVideo(f"kite {i}"))) for i in range(3)]
            while not posts or c.scheduler.queue.waiting < 2:  # one in flight, two queued
                await asyncio.sleep(0.01)
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            assert all(run.cancelled() for run in runs)
            told = asyncio.Event()
            retrying = asyncio.ensure_future(
                c.submit(TextToVideo("refused kite"), on_update=lambda _: told.set())
            )
            await told.wait()  # the retry notice: it now waits out the Retry-After
            await asyncio.sleep(0.01)
            retrying.cancel()
            await asyncio.gather(retrying, return_exceptions=True)

    asyncio.run(main())
    sent = posts[0]  # whichever create took the slot first
    assert posts == [sent, "refused kite"] and sent.startswith("kite ")
    by_prompt = {r.request["prompt"] if r.request else "": r for r in ledger.records()}
    assert by_prompt[sent].status == "unknown"
    for prompt in {"kite 0", "kite 1", "kite 2", "refused kite"} - {sent}:
        record = by_prompt[prompt]
        assert (record.status, record.error) == ("rejected", NEVER_SENT), prompt
    assert [r.request["prompt"] for r in ledger.records(unfinished=True) if r.request] == [sent]


def test_a_batch_handed_over_as_its_loop_ends_is_written_before_the_next_loops() -> None:
    written: list[str] = []
    writes = TaskWrites(lambda tasks: written.extend(t.id for t in tasks))
    busy, release = threading.Event(), threading.Event()
    workers.ledger().submit(lambda: (busy.set(), release.wait(10)))  # the ledger's thread is busy
    assert busy.wait(10)

    async def hand_over() -> None:
        writes.put(Task(id="left", status="processing"))
        for _ in range(3):  # the writer takes the batch and hands it to the busy thread
            await asyncio.sleep(0)

    asyncio.run(hand_over())  # its writer is cancelled, waiting for the thread
    release.set()

    async def next_loop() -> None:
        writes.put(Task(id="new", status="processing"))
        await writes.settled()

    asyncio.run(next_loop())
    assert written == ["left", "new"]
