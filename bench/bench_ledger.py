"""How long one ledger write takes, against a bare SQLite insert measured in the same run.

    .venv/bin/python bench/bench_ledger.py [N]

The ledger's budget is "well under 1 ms per write", since writes happen on the kernel's event
loop. Each figure is the median and 99th percentile of N single writes, each its own transaction.
``run(quick)`` gives the runner the status-change write (the one made while watching tasks):
its median against 1 ms, and its median against the bare insert.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _bench import Row, row

from omni_widgets import Ledger, Task, TextToVideo

BASE = "https://api.evolink.ai"


Times = tuple[list[float], list[float]]


def timed(count: int, write: Callable[[int], object]) -> Times:
    """Wall-clock and CPU seconds taken by each of ``count`` calls.

    CPU time tells the write's own cost from waiting for a core on a busy machine.
    """
    wall, cpu = [], []
    for i in range(count):
        start, start_cpu = time.perf_counter(), time.thread_time()
        write(i)
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return wall, cpu


def bare_insert(folder: Path, count: int) -> Times:
    """The floor: one INSERT per transaction on an open connection, WAL + synchronous=NORMAL."""
    db = sqlite3.connect(folder / "bare.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, task_id TEXT, status TEXT, at REAL)")

    def write(i: int) -> None:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO t (task_id, status, at) VALUES (?, ?, ?)", (f"t{i}", "pending", 0.0)
        )
        db.execute("COMMIT")

    try:
        return timed(count, write)
    finally:
        db.close()


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99) - 1]


def report(name: str, times: Times, baseline: Times) -> None:
    wall, cpu = times
    median = statistics.median(wall)
    slow = sum(t > 1e-3 for t in wall) / len(wall)
    print(
        f"{name:<30} {median * 1e6:6.1f} us  p99 {p99(wall) * 1e6:7.1f} us  "
        f"cpu p99 {p99(cpu) * 1e6:6.1f} us  >1 ms {slow:5.1%}  "
        f"{median / statistics.median(baseline[0]):4.1f}x bare"
    )


def measure(count: int) -> dict[str, Times]:
    """The bare insert and the ledger's three writes, ``count`` of each."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = bare_insert(folder, count)
        ledger = Ledger(folder / "ledger.sqlite3")
        request = TextToVideo("a red kite over the sea", duration=6)
        ledger.record_submitting(BASE, request)  # open the file and create the schema first
        rows: list[int] = []
        submitting = timed(count, lambda i: rows.append(ledger.record_submitting(BASE, request)))
        created = timed(
            count, lambda i: ledger.record_created(rows[i], Task(id=f"task-{i}", status="pending"))
        )
        status = timed(
            count, lambda i: ledger.record_task(BASE, Task(id=f"task-{i}", status="processing"))
        )
        ledger.close()
    return {"bare": baseline, "submitting": submitting, "created": created, "status": status}


def run(quick: bool) -> list[Row]:
    figures = measure(300 if quick else 2000)
    status = statistics.median(figures["status"][0]) * 1e3
    bare = statistics.median(figures["bare"][0]) * 1e3
    return [
        row(
            "ledger status write (median)",
            "<= 1 ms",
            status,
            "ms",
            status <= 1.0,
            p99_ms=p99(figures["status"][0]) * 1e3,
            bare_insert_ms=bare,
            vs_bare_insert=status / bare,
        )
    ]


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = bare_insert(folder, count)
        ledger = Ledger(folder / "ledger.sqlite3")
        request = TextToVideo("a red kite over the sea", duration=6)
        ledger.record_submitting(BASE, request)  # open the file and create the schema first
        rows: list[int] = []
        submitting = timed(count, lambda i: rows.append(ledger.record_submitting(BASE, request)))
        created = timed(
            count, lambda i: ledger.record_created(rows[i], Task(id=f"task-{i}", status="pending"))
        )
        status = timed(
            count, lambda i: ledger.record_task(BASE, Task(id=f"task-{i}", status="processing"))
        )
        ledger.close()
        print(f"{count} writes each, one transaction per write (WAL, synchronous=NORMAL)")
        print("median wall time; a wall tail far above the cpu p99 is waiting for a core")
        report("bare sqlite INSERT (baseline)", baseline, baseline)
        report("record_submitting (new row)", submitting, baseline)
        report("record_created (id arrives)", created, baseline)
        report("record_task (status change)", status, baseline)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
