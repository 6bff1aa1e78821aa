"""The async client's scheduler at work: bounded requests (slots sized by latency, downloads
apart), a 429 holding every task, 200 tasks against the sandbox; and the notebook's coalesced,
partial card updates with one shared ticker."""

from __future__ import annotations

import asyncio
import math
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from _mock import BASE, KEY, MP4, completed, task_body

from omni_widgets import AsyncOmniClient, TextToVideo
from omni_widgets.core.scheduler import MAX_IN_FLIGHT, MIN_IN_FLIGHT, TARGET_RATE, Scheduler
from omni_widgets.core.task import Task
from omni_widgets.notebook.card import TaskCard
from omni_widgets.notebook.connection import Connection
from omni_widgets.notebook.jobs import COALESCE_S, Job
from omni_widgets.notebook.ticker import SLICES, Ticker
from omni_widgets.sandbox import Sandbox


def ids(n: int) -> list[str]:
    return [f"task-unified-1-t{i:05d}" for i in range(n)]


class Counting(httpx.AsyncBaseTransport):
    """Passes requests on, counting how many are in flight at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.now = self.most = self.total = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.total += 1
        self.most = max(self.most, self.now)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.now -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_requests_in_flight_never_exceed_the_slots() -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.005)
        return httpx.Response(200, json=task_body(request.url.path.rsplit("/", 1)[-1]))

    counting = Counting(httpx.MockTransport(answer))

    async def main() -> list[Task]:
        async with AsyncOmniClient(KEY, BASE, transport=counting) as client:
            return await asyncio.gather(*(client.get(i) for i in ids(300)))

    tasks = asyncio.run(main())
    assert [t.id for t in tasks] == ids(300)
    assert counting.total == 300
    assert 1 < counting.most <= MAX_IN_FLIGHT


def test_a_429_holds_every_task_of_the_client_for_its_retry_after() -> None:
    sent: list[tuple[str, float]] = []
    limited_at: list[float] = []
    first, *others = ids(4)

    def answer(request: httpx.Request) -> httpx.Response:
        task_id = request.url.path.rsplit("/", 1)[-1]
        now = asyncio.get_running_loop().time()
        sent.append((task_id, now))
        if task_id == first and not limited_at:
            limited_at.append(now)
            return httpx.Response(
                429, json={"error": {"message": "slow"}}, headers={"Retry-After": "0.3"}
            )
        return httpx.Response(200, json=task_body(task_id))

    async def main() -> None:
        async with AsyncOmniClient(KEY, BASE, transport=httpx.MockTransport(answer)) as client:
            client.scheduler = Scheduler(limit=1)  # one at a time: the 429 comes first
            client._sleep = client.scheduler.sleep
            await asyncio.gather(*(client.get(i) for i in [first, *others]))

    asyncio.run(main())
    assert [task_id for task_id, _ in sent[:1]] == [first] and len(sent) == 5
    # Tasks that never met the 429 waited for its Retry-After too.
    assert all(at >= limited_at[0] + 0.3 - 0.002 for task_id, at in sent[1:])
    assert {task_id for task_id, _ in sent[1:]} == {first, *others}


def test_a_wait_cancelled_while_queued_gives_its_slot_back() -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return completed(request.url.path.rsplit("/", 1)[-1])

    async def main() -> int:
        async with AsyncOmniClient(KEY, BASE, transport=httpx.MockTransport(answer)) as client:
            client.scheduler = Scheduler(limit=2)
            client._sleep = client.scheduler.sleep
            runs = [asyncio.ensure_future(client.get(i)) for i in ids(6)]
            await asyncio.sleep(0)
            runs[3].cancel()
            runs[4].cancel()
            done = await asyncio.gather(*runs, return_exceptions=True)
            assert sum(isinstance(d, Task) for d in done) == 4
            await client.get(ids(1)[0])  # still a free slot after the cancellations
            return client.scheduler.queue.in_flight

    assert asyncio.run(main()) == 0


def test_two_hundred_tasks_complete_with_bounded_concurrency() -> None:
    counting = Counting(httpx.AsyncHTTPTransport())

    async def main(sb: Sandbox) -> list[Task]:
        async with AsyncOmniClient(sb.api_key, sb.base_url, transport=counting) as client:
            client._policy.rng = random.Random(11).random
            created = await asyncio.gather(
                *(client.submit(TextToVideo(f"scene {i}", duration=5)) for i in range(200))
            )
            done = await asyncio.gather(*(client.wait(task) for task in created))
            assert client.scheduler.queue.sleeping == 0
            assert client.scheduler.queue.in_flight == 0
            return done

    with Sandbox(speed=80, seed=3) as sb:  # 80 vendor seconds each: about a second here
        done = asyncio.run(main(sb))
    assert len({t.id for t in done}) == 200
    assert all(t.status == "completed" and t.video_url for t in done)
    assert 1 < counting.most <= MAX_IN_FLIGHT


# --- cards ------------------------------------------------------------------------------------


def job_for(task_id: str = "task-unified-1-card", **task: Any) -> Job:
    connection = Connection(KEY, "http://127.0.0.1:9", True, "sandbox")
    return Job(connection, task=Task(id=task_id, estimated_time=60, **task))


def test_progress_updates_are_coalesced_and_the_last_one_is_shown() -> None:
    seen: list[tuple[str, int]] = []

    async def main() -> None:
        job = job_for()
        job.subscribe(lambda j: seen.append((j.phase, j.task.progress if j.task else -1)))
        job.apply(Task(id=job.task_id or "", status="processing", progress=1))
        for progress in range(2, 51):
            job.apply(Task(id=job.task_id or "", status="processing", progress=progress))
        await asyncio.sleep(COALESCE_S * 2)

    asyncio.run(main())
    # Subscribed; the phase change at once; everything after in one coalesced update.
    assert seen == [("pending", 0), ("processing", 1), ("processing", 50)]


def test_a_phase_change_is_shown_at_once() -> None:
    async def main() -> list[str]:
        job = job_for()
        phases: list[str] = []
        job.subscribe(lambda j: phases.append(j.phase))
        job.apply(Task(id=job.task_id or "", status="processing", progress=5))
        job.apply(Task(id=job.task_id or "", status="processing", progress=6))
        job._finish("error", RuntimeError("stopped"))
        return phases

    assert asyncio.run(main()) == ["pending", "processing", "error"]


def test_a_tick_rebuilds_only_the_card_line_that_changed() -> None:
    job = job_for(status="processing", progress=40)
    job.phase = "processing"
    card = TaskCard(job)
    card._status.value = card._percent.value = card._notice.value = "untouched"
    meta = card._meta.value
    job.started -= 5  # five seconds later
    job.tick()
    assert card._status.value == card._percent.value == card._notice.value == "untouched"
    # On a busy machine a second may pass before the card is drawn, or between draw and tick.
    assert card._meta.value != meta
    assert _elapsed(meta) + 5 <= _elapsed(card._meta.value) <= _elapsed(meta) + 6
    job.apply(Task(id=job.task_id or "", status="processing", progress=41))
    assert "41%" in card._percent.value and card._status.value == "untouched"


def _elapsed(meta: str) -> int:
    found = re.search(r"elapsed (\d+) s", meta)
    assert found, meta
    return int(found[1])


class Member:
    def __init__(self, running: bool = True) -> None:
        self.running = running
        self.ticks = 0

    def tick(self) -> None:
        self.ticks += 1


def test_one_ticker_visits_each_running_job_once_per_round_in_slices() -> None:
    async def main() -> tuple[list[Member], Ticker, list[int]]:
        ticker = Ticker()
        members = [Member() for _ in range(95)]
        for member in members:
            ticker.add(member)
        members[7].running = False
        per_slice = [ticker.tick_slice() for _ in range(SLICES)]
        return members, ticker, per_slice

    members, ticker, per_slice = asyncio.run(main())
    assert [m.ticks for m in members] == [0 if i == 7 else 1 for i in range(95)]
    assert max(per_slice) <= 10 and len(ticker) == 94


@pytest.mark.parametrize("count", [1, 3])
def test_jobs_share_one_ticker_task(count: int) -> None:
    async def main() -> int:
        jobs = [job_for(f"task-unified-1-j{i}") for i in range(count)]
        for job in jobs:
            job.start()
        tickers = [t for t in asyncio.all_tasks() if t.get_name() == "omni-ticker"]
        for job in jobs:
            job._stop_background()
        return len(tickers)

    assert asyncio.run(main()) == 1


# --- the TLS context ----------------------------------------------------------------------------


def test_clients_share_one_tls_context_built_off_the_event_loop() -> None:
    from omni_widgets.core.http import tls_context

    context = tls_context()

    async def main() -> tuple[object, object, bool]:
        first = AsyncOmniClient(KEY, BASE)
        second = AsyncOmniClient(KEY, BASE)
        unbuilt = first._http is None  # nothing TLS-related was built on the loop
        a, b = await first._client(), await second._client()
        await first.aclose()
        await second.aclose()
        return a._transport._pool._ssl_context, b._transport._pool._ssl_context, unbuilt  # type: ignore[attr-defined]

    one, two, unbuilt = asyncio.run(main())
    assert unbuilt and one is two is context.result()


def test_request_slots_follow_the_latency_between_their_bounds() -> None:
    """Little's law: enough slots for TARGET_RATE requests a second at the latency seen. A fast
    service gets few (its answers to many requests arrive in one loop turn: a stall)."""
    scheduler = Scheduler()
    assert scheduler.limit == MIN_IN_FLIGHT

    def held(seconds: float, times: int = 40) -> int:
        for _ in range(times):
            scheduler.queue.in_flight += 1
            scheduler.release(seconds)
        return scheduler.limit

    assert held(0.002) == MIN_IN_FLIGHT
    assert held(0.08) == math.ceil(TARGET_RATE * 0.08) < MAX_IN_FLIGHT
    assert held(3.0) == MAX_IN_FLIGHT
    assert held(0.002) == MIN_IN_FLIGHT, "it comes back down when the service is fast again"
    fixed = Scheduler(limit=3)
    fixed.queue.in_flight += 1
    fixed.release(3.0)
    assert fixed.limit == 3 and fixed.latency is None


def test_downloads_take_their_own_slots_not_the_status_queries() -> None:
    seen: list[tuple[int, int]] = []

    async def main() -> None:
        async def answer(request: httpx.Request) -> httpx.Response:
            if request.url.host == "cdn.test":
                seen.append((client.downloads.queue.in_flight, client.scheduler.queue.in_flight))
                return httpx.Response(200, content=MP4)
            return completed(request.url.path.rsplit("/", 1)[-1])

        async with AsyncOmniClient(
            KEY, BASE, transport=httpx.MockTransport(answer), ledger=False
        ) as client:
            task = await client.get(ids(1)[0])
            with tempfile.TemporaryDirectory() as folder:
                path = await client.download(task, Path(folder) / "v.mp4")
                assert path.stat().st_size == len(MP4)
            assert client.scheduler.latency is not None  # the status query counted
            assert client.downloads.latency is None  # the download did not

    asyncio.run(main())
    assert seen == [(1, 0)]
