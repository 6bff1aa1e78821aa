"""Helpers shared by the benchmark modules: rows in the runner's shape and paired rounds.

Every goal that compares against a baseline is measured side by side: each round times the
baseline and ours back to back, and the figure is the median of the per-round ratios, so a
machine that slows down mid-run moves both sides alike.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

Row = dict[str, Any]


def row(name: str, goal: str, measured: float, unit: str, met: bool, **extra: Any) -> Row:
    """One line of the results table; ``extra`` keeps the raw figures behind it."""
    return {
        "name": name,
        "goal": goal,
        "measured": round(measured, 4),
        "unit": unit,
        "met": bool(met),
        **extra,
    }


def print_rows(rows: list[Row]) -> None:
    """Each row on one line, for a module run alone (``python bench/bench_x.py``)."""
    for r in rows:
        mark = "met" if r["met"] else "MISSED"
        baseline = f"; baseline {r['baseline']}" if "baseline" in r else ""
        print(f"{r['name']}: {r['measured']} {r['unit']} (goal {r['goal']}{baseline}) {mark}")


def paired_ratio(
    ours: Callable[[], float], baseline: Callable[[], float], rounds: int
) -> tuple[float, float, float]:
    """Median of ours/baseline over ``rounds``, each side timed once per round (alternating which
    goes first); also the medians of the two sides, in their own unit."""
    ratios, mine, theirs = [], [], []
    for index in range(rounds):
        if index % 2:
            a = ours()
            b = baseline()
        else:
            b = baseline()
            a = ours()
        mine.append(a)
        theirs.append(b)
        ratios.append(a / b)
    return statistics.median(ratios), statistics.median(mine), statistics.median(theirs)


def cpu_of(func: Callable[[], object], repeat: int) -> float:
    """CPU seconds of this thread per call of ``func``, over ``repeat`` calls."""
    start = time.thread_time()
    for _ in range(repeat):
        func()
    return (time.thread_time() - start) / repeat


def wall_of(func: Callable[[], object], repeat: int) -> float:
    """Wall seconds per call of ``func``, over ``repeat`` calls."""
    start = time.perf_counter()
    for _ in range(repeat):
        func()
    return (time.perf_counter() - start) / repeat


_SANDBOX = """
import sys
from omni_widgets.sandbox import Sandbox
with Sandbox(speed=float("inf"), seed=0, api_key=sys.argv[1]) as sb:
    print(sb.base_url, flush=True)
    sys.stdin.read()  # until the parent closes it
"""


@contextlib.contextmanager
def sandbox_process(api_key: str = "sk-bench-key") -> Iterator[str]:
    """A sandbox in its own process (so its work neither shares our GIL nor counts as our CPU);
    yields its base URL."""
    child = subprocess.Popen(
        [sys.executable, "-c", _SANDBOX, api_key],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield child.stdout.readline().strip()
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
