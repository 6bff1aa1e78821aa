"""What the client adds on top of plain httpx, side by side against a sandbox in another process.

The figure is CPU time of the caller's thread per status query: ``AsyncOmniClient.get`` against
``httpx.AsyncClient.get`` plus ``.json()``, and ``OmniClient.get`` against ``httpx.Client``.
Short bursts of each alternate many times and the figure is the median of the per-burst ratios,
which holds up on a busy machine. Goal: no more CPU than bare httpx (1.0x).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import httpx
from _bench import Row, row, sandbox_process

from omni_widgets import AsyncOmniClient, OmniClient, TextToVideo

GOAL = 1.0
KEY = "sk-bench-key"


def _summary(ratios: list[float], mine: list[float], theirs: list[float]) -> tuple[float, ...]:
    return (
        statistics.median(ratios),
        statistics.median(mine) * 1e3,
        statistics.median(theirs) * 1e3,
    )


async def _async(base_url: str, rounds: int, burst: int) -> tuple[float, ...]:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with AsyncOmniClient(KEY, base_url, ledger=False) as client, httpx.AsyncClient() as raw:
        task = await client.submit(TextToVideo("benchmark"))
        url = f"{base_url}/v1/tasks/{task.id}"

        async def ours() -> None:
            await client.get(task.id)

        async def bare() -> None:
            (await raw.get(url, headers=headers)).json()

        async def cpu(once: Callable[[], Awaitable[None]]) -> float:
            start = time.thread_time()
            for _ in range(burst):
                await once()
            return (time.thread_time() - start) / burst

        await cpu(ours), await cpu(bare)  # warm both pools and code paths
        ratios, mine, theirs = [], [], []
        for index in range(rounds):
            if index % 2:
                a, b = await cpu(ours), await cpu(bare)
            else:
                b, a = await cpu(bare), await cpu(ours)
            mine.append(a)
            theirs.append(b)
            ratios.append(a / b)
        return _summary(ratios, mine, theirs)


def _sync(base_url: str, rounds: int, burst: int) -> tuple[float, ...]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with OmniClient(KEY, base_url, ledger=False) as client, httpx.Client() as raw:
        task = client.submit(TextToVideo("benchmark"))
        url = f"{base_url}/v1/tasks/{task.id}"

        def cpu(once: Callable[[], object]) -> float:
            start = time.thread_time()
            for _ in range(burst):
                once()
            return (time.thread_time() - start) / burst

        def ours() -> None:
            client.get(task.id)

        def bare() -> None:
            raw.get(url, headers=headers).json()

        cpu(ours), cpu(bare)
        ratios, mine, theirs = [], [], []
        for index in range(rounds):
            if index % 2:
                a, b = cpu(ours), cpu(bare)
            else:
                b, a = cpu(bare), cpu(ours)
            mine.append(a)
            theirs.append(b)
            ratios.append(a / b)
        return _summary(ratios, mine, theirs)


def run(quick: bool) -> list[Row]:
    rounds, burst = (15, 40) if quick else (61, 50)
    with sandbox_process(KEY) as base_url:
        figures = {
            "async": asyncio.run(_async(base_url, rounds, burst)),
            "sync": _sync(base_url, rounds, burst),
        }
    return [
        row(
            f"client CPU per status query ({kind})",
            f"<= {GOAL:.1f}x bare httpx",
            ratio,
            "x",
            ratio <= GOAL,
            ours_ms=ours,
            httpx_ms=bare,
        )
        for kind, (ratio, ours, bare) in figures.items()
    ]


if __name__ == "__main__":
    for item in run("--quick" in sys.argv):
        print(item)
