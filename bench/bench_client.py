"""What the client adds on top of plain httpx, side by side against the sandbox.

The figure is CPU time of the caller's thread per status query (the sandbox serves from its own
thread, so its work does not count): ``AsyncOmniClient.get`` against ``httpx.AsyncClient.get``
plus ``.json()``, and the same for the sync client. Goal: no more than bare httpx (1.0x).
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx
from _bench import Row, paired_ratio, row

from omni_widgets import AsyncOmniClient, OmniClient, TextToVideo
from omni_widgets.sandbox import Sandbox

GOAL = 1.0


async def _async_ratio(base_url: str, key: str, rounds: int, repeat: int) -> tuple[float, ...]:
    headers = {"Authorization": f"Bearer {key}"}
    async with AsyncOmniClient(key, base_url, ledger=False) as client, httpx.AsyncClient() as raw:
        task = await client.submit(TextToVideo("benchmark"))
        url = f"{base_url}/v1/tasks/{task.id}"

        async def ours_once() -> None:
            await client.get(task.id)

        async def bare_once() -> None:
            (await raw.get(url, headers=headers)).json()

        for _ in range(20):  # warm both pools and code paths
            await ours_once()
            await bare_once()
        ratios: list[float] = []
        mine: list[float] = []
        theirs: list[float] = []
        for index in range(rounds):
            sides = [(ours_once, mine), (bare_once, theirs)]
            for once, out in sides if index % 2 else sides[::-1]:
                start = time.thread_time()
                for _ in range(repeat):
                    await once()
                out.append((time.thread_time() - start) / repeat)
            ratios.append(mine[-1] / theirs[-1])
        ratios.sort()
        return ratios[len(ratios) // 2], sorted(mine)[rounds // 2], sorted(theirs)[rounds // 2]


def run(quick: bool) -> list[Row]:
    rounds, repeat = (5, 100) if quick else (11, 300)
    with Sandbox(speed=1e6, seed=0) as sb:
        ratio, ours, bare = asyncio.run(_async_ratio(sb.base_url, sb.api_key, rounds, repeat))
        rows = [
            row(
                "client CPU per status query (async)",
                f"<= {GOAL:.1f}x bare httpx",
                ratio,
                "x",
                ratio <= GOAL,
                ours_ms=ours * 1e3,
                httpx_ms=bare * 1e3,
            )
        ]
        headers = {"Authorization": f"Bearer {sb.api_key}"}
        with OmniClient(sb.api_key, sb.base_url, ledger=False) as client, httpx.Client() as raw:
            task = client.submit(TextToVideo("benchmark"))
            url = f"{sb.base_url}/v1/tasks/{task.id}"

            def ours_cpu() -> float:
                start = time.thread_time()
                for _ in range(repeat):
                    client.get(task.id)
                return (time.thread_time() - start) / repeat

            def bare_cpu() -> float:
                start = time.thread_time()
                for _ in range(repeat):
                    raw.get(url, headers=headers).json()
                return (time.thread_time() - start) / repeat

            ours_cpu(), bare_cpu()
            ratio, ours, bare = paired_ratio(ours_cpu, bare_cpu, rounds)
            rows.append(
                row(
                    "client CPU per status query (sync)",
                    f"<= {GOAL:.1f}x bare httpx",
                    ratio,
                    "x",
                    ratio <= GOAL,
                    ours_ms=ours * 1e3,
                    httpx_ms=bare * 1e3,
                )
            )
    return rows


if __name__ == "__main__":
    for item in run("--quick" in sys.argv):
        print(item)
