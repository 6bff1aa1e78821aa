"""How long the test suite takes on this machine (issue 14: the whole `./dev test` under 8 minutes,
the quick loop under 1 minute).

The quick loop (``pytest -m "not browser and not slow"``) is timed here, in a child process, as
a developer meets it while coding: with its render cache filled (``tests/_render_cache.py``). In
a fresh clone, or after a change to the renderer, the cache is empty and the first loop renders
every distinct clip (about 40 s more here), so that first loop is run untimed. The whole suite
takes minutes, so it is not re-run: ``./dev test`` with no arguments records its own
pytest time in ``bench/suite-time.json`` (untracked) when it passes, and this module reports the
latest record with its date. With no record the row says so and counts as missed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _bench import Row, row

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "bench" / "suite-time.json"
QUICK_GOAL_S = 60.0
FULL_GOAL_S = 480.0
QUICK_LOOP = ["-m", "not browser and not slow"]
#: As ./dev test runs it (pytest-xdist workers, browser tests kept in their groups).
WORKERS = ["-n", os.environ.get("OMNI_TEST_WORKERS", "4"), "--dist", "loadgroup"]


def quick_loop() -> tuple[float, int]:
    """Wall seconds of the quick loop and pytest's exit code."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *WORKERS, *QUICK_LOOP],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started, done.returncode


def cache_is_warm() -> bool:
    """Whether the quick loop's render cache holds clips of the current renderer."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from _render_cache import renderer_identity
    finally:
        sys.path.remove(str(ROOT / "tests"))
    folder = ROOT / ".pytest_cache" / "d" / "omni-renders" / renderer_identity().hex()[:16]
    return any(folder.glob("*.mp4"))


def last_full_run() -> dict[str, object] | None:
    """The record the last passing ``./dev test`` (whole suite) left, if any."""
    try:
        record = json.loads(RECORD.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "seconds" in record else None


def run(quick: bool) -> list[Row]:
    """The quick loop timed now, and the whole suite's last recorded time."""
    warming = ""
    if not cache_is_warm():
        first, _ = quick_loop()
        warming = f"; a first, untimed loop filled the render cache in {first:.0f} s"
    seconds, code = quick_loop()
    rows = [
        row(
            "quick test loop (-m 'not browser and not slow')",
            f"< {QUICK_GOAL_S:.0f} s, passing",
            seconds,
            "s",
            code == 0 and seconds < QUICK_GOAL_S,
            baseline=f"pytest exit code {code}{warming}",
        )
    ]
    record = last_full_run()
    full = float(record["seconds"]) if record else 0.0  # type: ignore[arg-type]
    rows.append(
        row(
            "whole ./dev test, pytest time (last passing run)",
            f"< {FULL_GOAL_S / 60:.0f} min",
            full,
            "s",
            record is not None and full < FULL_GOAL_S,
            baseline=(
                f"recorded {record.get('when')} by ./dev test"
                if record
                else "no record: run ./dev test, which writes bench/suite-time.json"
            ),
        )
    )
    return rows


if __name__ == "__main__":
    for item in run("--quick" in sys.argv):
        print(item)
