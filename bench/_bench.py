"""Helpers shared by the benchmark modules: rows in the runner's shape and paired rounds.

Every goal that compares against a baseline is measured side by side: each round times the
baseline and ours back to back, and the figure is the median of the per-round ratios, so a
machine that slows down mid-run moves both sides alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
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
