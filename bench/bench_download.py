"""Saving a large video: the async client's ``download`` against bare httpx streaming into a file
with the same ``fsync`` and rename, side by side from a plain HTTP server in another process.

Goals: throughput >= 0.95x bare httpx (the ratio is bare seconds / client seconds, so above 1 is
faster), and resident memory growth <= 20 MB while saving 200 MB (the body is streamed, never
held). The file is a valid MP4 skeleton (ftyp, moov, a large mdat) so the client's checks pass.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _bench import Row, row

from omni_widgets import AsyncOmniClient, Task

RATIO_GOAL = 0.95
RSS_GOAL_MB = 20.0


def write_mp4(path: Path, megabytes: int) -> None:
    """An MP4 of the given size that passes the client's box walk."""
    with path.open("wb") as file:
        file.write(struct.pack(">I4s4sI", 16, b"ftyp", b"isom", 0x200))
        file.write(struct.pack(">I4s", 8, b"moov"))
        body = megabytes * 1024 * 1024
        file.write(struct.pack(">I4s", 8 + body, b"mdat"))
        block = os.urandom(1 << 20)
        for _ in range(megabytes):
            file.write(block)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def bare(url: str, target: Path) -> float:
    """Seconds for bare httpx to stream the body into a file, fsync it and rename it (its client
    is built before the clock starts, as the client's is in :func:`ours`)."""
    part = target.with_name(target.name + ".part")
    async with httpx.AsyncClient() as client:
        start = time.perf_counter()
        async with client.stream("GET", url) as response:
            with part.open("wb") as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
                file.flush()
                os.fsync(file.fileno())
        os.replace(part, target)
        return time.perf_counter() - start


async def ours(url: str, target: Path, index: int) -> float:
    """Seconds for the async client's download (built before the clock starts)."""
    task = Task(id=f"task-unified-1700000000-bench{index}", status="completed", video_url=url)
    async with AsyncOmniClient("sk-bench", "http://127.0.0.1:9", ledger=False) as client:
        start = time.perf_counter()
        await client.download(task, target)
        return time.perf_counter() - start


def _kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


async def rss_growth_mb(url: str, target: Path) -> float:
    """Peak RSS over the start while the client saves the file (Linux: VmHWM reset first)."""
    Path("/proc/self/clear_refs").write_text("5")
    before = _kb("VmRSS")
    await ours(url, target, 999)
    return (_kb("VmHWM") - before) / 1024


async def measure(url: str, folder: Path, rounds: int) -> tuple[float, float, float, float]:
    await ours(url, folder / "warm.mp4", 0)  # import and warm everything once
    ratios, mine, theirs = [], [], []
    for index in range(rounds):
        for name in ("a.mp4", "b.mp4", "a.json", "b.json"):
            (folder / name).unlink(missing_ok=True)
        if index % 2:
            a = await ours(url, folder / "a.mp4", index)
            b = await bare(url, folder / "b.mp4")
        else:
            b = await bare(url, folder / "b.mp4")
            a = await ours(url, folder / "a.mp4", index)
        mine.append(a)
        theirs.append(b)
        ratios.append(b / a)
    (folder / "a.mp4").unlink(missing_ok=True)
    (folder / "a.json").unlink(missing_ok=True)
    growth = await rss_growth_mb(url, folder / "a.mp4")
    ratios.sort()
    mine.sort()
    theirs.sort()
    middle = rounds // 2
    return ratios[middle], mine[middle], theirs[middle], growth


def run(quick: bool) -> list[Row]:
    megabytes, rounds = (50, 3) if quick else (200, 7)
    with tempfile.TemporaryDirectory() as tmp:
        served, saved = Path(tmp, "served"), Path(tmp, "saved")
        served.mkdir()
        saved.mkdir()
        write_mp4(served / "video.mp4", megabytes)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
             "--directory", str(served)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/video.mp4"
            for _ in range(100):
                try:
                    httpx.head(url)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            ratio, mine, theirs, growth = asyncio.run(measure(url, saved, rounds))
        finally:
            server.terminate()
            server.wait()
    return [
        row(
            f"download speed, {megabytes} MB",
            f">= {RATIO_GOAL:g}x bare httpx + fsync",
            ratio,
            "x",
            ratio >= RATIO_GOAL,
            ours_s=mine,
            httpx_s=theirs,
        ),
        row(
            f"download RSS growth, {megabytes} MB",
            f"<= {RSS_GOAL_MB:g} MB",
            growth,
            "MB",
            growth <= RSS_GOAL_MB,
        ),
    ]


if __name__ == "__main__":
    for item in run("--quick" in sys.argv):
        print(item)
