"""The gallery's first page over 10,000 recorded results: the kernel's share, against a 1 s goal.

    .venv/bin/python bench/bench_gallery.py [--quick]

A ledger of 10,000 saved results (pointing at a few real MP4s rendered here) is paged by a fresh
``Gallery``: the SQL page, the items with their posters, and the widget state serialized as it
goes to the browser. Posters are timed cold (decoded and cached) and warm (read back). Each
figure is the median of several runs. The browser's own drawing is covered by the browser test.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _bench import print_rows

from omni_widgets import Ledger, TextToVideo
from omni_widgets.core.frames import poster_path
from omni_widgets.core.ledger import describe_request
from omni_widgets.notebook.gallery import Gallery
from omni_widgets.sandbox._render import VideoSpec, render_mp4

RECORDS = 10_000
GOAL_S = 1.0
BASE = "https://api.evolink.ai"
MODELS = (
    "gemini-omni-flash-text-to-video",
    "gemini-omni-flash-image-to-video",
    "gemini-omni-flash-reference-to-video",
)


def fill(ledger: Ledger, videos: list[Path], count: int) -> None:
    """``count`` saved results, newest last, cycling through the videos, modes and statuses."""
    with ledger._connection():  # creates the file and its schema (with the gallery's indexes)
        pass
    now = time.time()
    rows = []
    for i in range(count):
        request = describe_request(TextToVideo(f"scene {i}: a kite over the sea", duration=4))
        rows.append(
            (
                "toapis" if i % 7 == 0 else "evolink",
                BASE,
                f"task-unified-{1_700_000_000 + i}-bench{i:05d}",
                MODELS[i % 3],
                json.dumps(request),
                "failed" if i % 11 == 0 else "saved",
                str(videos[i % len(videos)]),
                "bench",
                1,
                now - (count - i),
                now,
            )
        )
    with sqlite3.connect(ledger.path) as db:
        db.executemany(
            "INSERT INTO tasks (gateway, base_url, task_id, model, request, status, path, host,"
            " pid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def median_of(
    runs: int, action: Callable[[], Any], before: Callable[[], Any] | None = None
) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def first_page(ledger: Ledger) -> Gallery:
    view = Gallery(ledger)
    json.dumps(view.get_state())  # what goes over the comm to the browser
    return view


def row(name: str, seconds: float, goal: float = GOAL_S) -> dict[str, Any]:
    return {
        "name": name,
        "goal": f"< {goal:g} s",
        "measured": round(seconds, 4),
        "unit": "s",
        "met": seconds < goal,
    }


def run(quick: bool) -> list[dict[str, Any]]:
    """The figures as rows {name, goal, measured, unit, met}."""
    runs = 3 if quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        videos = []
        for i in range(24):  # one page of distinct videos: every poster of the page is decoded
            path = folder / f"video-{i:02d}.mp4"
            render_mp4(VideoSpec(320, 180, 1, f"scene {i}", "bench"), path)
            videos.append(path)
        ledger = Ledger(folder / "ledger.sqlite3")
        fill(ledger, videos, RECORDS)

        def forget_posters() -> None:
            for video in videos:
                poster_path(video).unlink(missing_ok=True)

        cold = median_of(runs, lambda: first_page(ledger), forget_posters)
        warm = median_of(runs, lambda: first_page(ledger))
        view = first_page(ledger)

        def turn() -> None:
            view.page = (view.page + 97) % 400

        paging = median_of(runs, turn)
        words = iter(range(10**6))
        searching = median_of(runs, lambda: setattr(view, "text", f"scene {next(words) % 9000}"))
        view.text = ""
        moded = median_of(
            runs,
            lambda: setattr(
                view, "mode", "ImageToVideo" if view.mode != "ImageToVideo" else "TextToVideo"
            ),
        )
        picked = [r.row_id for r in ledger.records(limit=4)]
        comparing = median_of(
            runs,
            lambda: setattr(view, "selected", picked[:2]),
            lambda: setattr(view, "selected", []),
        )
        ledger.close()
    label = f"over {RECORDS:,} records"
    return [
        row(f"gallery first page, posters cold (24 decoded), {label}", cold),
        row(f"gallery first page, posters cached, {label}", warm),
        row(f"gallery next page, {label}", paging),
        row(f"gallery text filter, {label}", searching),
        row(f"gallery mode filter, {label}", moded),
        row("gallery compare 2 (details and copy-as-code)", comparing),
    ]


if __name__ == "__main__":
    print_rows(run("--quick" in sys.argv[1:]))
