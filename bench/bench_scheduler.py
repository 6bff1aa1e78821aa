"""The scheduler's goals (issue 14): few status queries, early detection, small heap, many tasks.

Run: ``.venv/bin/python bench/bench_scheduler.py [--quick]``. Each figure is printed with its goal
and a baseline measured in the same run:

- status queries per task and the median detection lag, for 5 s, 30 s and 120 s tasks, against a
  fixed 3 s poller. The client's own wait (``wait_op`` with its schedule) runs in virtual time
  against the sandbox's own task timeline (completion 0.75-1.25x the estimate, 5-15% queued,
  progress as the sandbox reports it), so minutes of tasks take milliseconds and both pollers see
  exactly the same tasks;
- heap per watched task: ``AsyncOmniClient.wait`` on thousands of pending tasks, against one bare
  sleeping asyncio task each;
- N tasks (10,000; 2,000 with --quick) created and watched to completion through
  ``AsyncOmniClient`` against the sandbox running in another process.

``run(quick)`` returns rows {name, goal, measured, unit, met} for the benchmark runner.
"""

from __future__ import annotations

import asyncio
import gc
import math
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from _bench import Row, print_rows, row

from omni_widgets import AsyncOmniClient, TextToVideo
from omni_widgets.core.protocol import Context, Emit, Send, Sleep, wait_op
from omni_widgets.core.retry import RetryPolicy
from omni_widgets.core.task import Task
from omni_widgets.sandbox import _tasks as sandbox_tasks

POLLER_S = 3.0
TID = "task-unified-1-bench"


def sandbox_timeline(vendor_estimate: float, rng: random.Random) -> sandbox_tasks.Task:
    """A task planned as the sandbox plans one (see sandbox/_tasks.py ``TaskStore.create``)."""
    total = vendor_estimate * rng.uniform(0.75, 1.25)
    fields: dict[str, Any] = {
        "id": TID,
        "model": "gemini-omni-flash-text-to-video",
        "created": 0,
        "started_at": 0.0,
        "started_wall": 0.0,
        "owner": "",
        "request": None,
        "video": None,
        "base_url": "",
        "estimated_time": math.ceil(vendor_estimate),
        "queue_for": total * rng.uniform(0.05, 0.15),
        "complete_after": total,
        "finish_after": total,
        "fail_code": None,
    }
    return sandbox_tasks.Task(**fields)


def watch_in_virtual_time(truth: sandbox_tasks.Task, rng: random.Random) -> tuple[int, float]:
    """Run the client's wait on one task with a virtual clock: (queries, detection lag)."""
    now = 0.0

    def build(method: str, path: str, **kwargs: Any) -> httpx.Request:
        return httpx.Request(method, "https://bench.invalid" + path, **kwargs)

    ctx = Context(build, RetryPolicy(), POLLER_S, lambda: now, rng=rng.random)
    start = Task(id=TID, status="pending", estimated_time=truth.estimated_time)
    op = wait_op(ctx, start, None, poll_now=False)
    queries = 0
    action = next(op)
    try:
        while True:
            answer: Any = None
            if isinstance(action, Sleep):
                now += action.seconds
            elif isinstance(action, Send):
                queries += 1
                status, progress = truth.state(now)
                body = {"id": TID, "status": status, "progress": progress}
                if status == "completed":
                    body["results"] = ["https://bench.invalid/v.mp4"]
                answer = httpx.Response(200, json=body, request=action.request)
            else:
                assert isinstance(action, Emit)
            action = op.send(answer)
    except StopIteration:
        return queries, now - truth.finishes_at


def fixed_poller(truth: sandbox_tasks.Task) -> tuple[int, float]:
    """A poller that asks every 3 s from the start: (queries, detection lag)."""
    queries = max(1, math.ceil(truth.finishes_at / POLLER_S))
    return queries, queries * POLLER_S - truth.finishes_at


def polling_rows(quick: bool) -> list[Row]:
    rows: list[Row] = []
    tasks = 300 if quick else 2000
    for seconds, goal in ((5, 1.0), (30, 0.25), (120, 0.25)):
        rng = random.Random(seconds)
        ours, base = [], []
        for _ in range(tasks):
            truth = sandbox_timeline(seconds, rng)
            ours.append(watch_in_virtual_time(truth, rng))
            base.append(fixed_poller(truth))
        ratio = statistics.mean(q for q, _ in ours) / statistics.mean(q for q, _ in base)
        lag = statistics.median(lag for _, lag in ours)
        base_lag = statistics.median(lag for _, lag in base)
        rows.append(
            row(
                f"status queries per task, {seconds} s tasks (x a 3 s poller)",
                f"<= {goal}",
                ratio,
                "x",
                ratio <= goal,
                baseline=f"{statistics.mean(q for q, _ in base):.1f} queries; ours "
                f"{statistics.mean(q for q, _ in ours):.2f}",
            )
        )
        rows.append(
            row(
                f"p50 detection lag, {seconds} s tasks",
                f"<= poller's {base_lag:.2f} s",
                lag,
                "s",
                lag <= base_lag,
                baseline=f"{base_lag:.2f} s",
            )
        )
    return rows


def heap_rows(quick: bool) -> list[Row]:
    count = 500 if quick else 2000  # tracing every allocation is slow; the figure is per task

    def pending(request: httpx.Request) -> httpx.Response:
        task_id = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"id": task_id, "status": "pending", "progress": 0})

    async def watched() -> float:
        async with AsyncOmniClient(
            "sk-bench",
            "https://bench.invalid",
            transport=httpx.MockTransport(pending),
            poll_interval=1e6,  # waits at the 10 s cap: every task is asked once, then sleeps
            ledger=False,
        ) as client:
            ids = [f"task-unified-1-w{i:06d}" for i in range(count)]
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            runs = [asyncio.ensure_future(client.wait(task_id)) for task_id in ids]
            while client.scheduler.queue.sleeping < count:  # each asked once, now waiting
                await asyncio.sleep(0.05)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            for run_ in runs:
                run_.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            return (after - before) / count

    async def bare() -> float:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        runs = [asyncio.ensure_future(asyncio.sleep(3600)) for _ in range(count)]
        await asyncio.sleep(0)
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        for run_ in runs:
            run_.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        return (after - before) / count

    per_task = asyncio.run(watched()) / 1024
    baseline = asyncio.run(bare()) / 1024
    return [
        row(
            f"heap per watched task ({count} tasks)",
            "<= 50 KB",
            per_task,
            "KB",
            per_task <= 50,
            baseline=f"a bare sleeping asyncio task {baseline:.1f} KB",
        )
    ]


def many_tasks_rows(quick: bool) -> list[Row]:
    from omni_widgets.sandbox import start_shared

    count = 2000 if quick else 10_000
    with tempfile.TemporaryDirectory(prefix="omni-bench-") as home:
        sb = start_shared(Path(home))
        try:
            sb.speed = 80.0  # a 5 s clip (80 vendor seconds) in about a second
            started = time.perf_counter()
            done, queries, errors = asyncio.run(_create_and_watch(sb.base_url, sb.api_key, count))
            elapsed = time.perf_counter() - started
        finally:
            sb.stop()
    return [
        row(
            f"tasks completed through AsyncOmniClient ({count}, sandbox in another process)",
            f"all {count}",
            done,
            "tasks",
            done == count,
            baseline=f"{elapsed:.0f} s, {queries / count:.2f} requests per task; "
            f"errors: {errors or 'none'}",
        )
    ]


async def _create_and_watch(base_url: str, key: str, count: int) -> tuple[int, int, str]:
    sent = 0

    async def counted(_: httpx.Request) -> None:
        nonlocal sent
        sent += 1

    async with AsyncOmniClient(key, base_url, ledger=False) as client:
        (await client._client()).event_hooks["request"].append(counted)

        async def one(i: int) -> bool:
            task = await client.submit(TextToVideo(f"bench {i}", duration=5))
            return (await client.wait(task)).status == "completed"

        results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    errors = Counter(f"{type(r).__name__}: {str(r)[:120]}" for r in results if r is not True)
    return sum(r is True for r in results), sent, "; ".join(f"{n}x {e}" for e, n in errors.items())


def run(quick: bool) -> list[Row]:
    """Every figure of this benchmark, as rows for the runner."""
    return polling_rows(quick) + heap_rows(quick) + many_tasks_rows(quick)


if __name__ == "__main__":
    print_rows(run("--quick" in sys.argv))
