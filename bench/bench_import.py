"""Import cost in a fresh interpreter: ``import omni_widgets`` and ``%load_ext omni_widgets``,
each on top of ``import ipywidgets, httpx`` against those alone (what any widget-and-HTTP
notebook pays anyway).

Every round starts new subprocesses for both sides (interleaved) and times only the import
inside them; the figure is the median of the per-round differences. Goal: <= +25 ms. Bytecode
may be written (as pip does for an installed package), so neither side pays for compiling.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from _bench import Row, row

GOAL_MS = 25.0
TIMER = "import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
SHELL = (
    "import asyncio; "  # every kernel and IPython terminal has it loaded already
    "from IPython.core.interactiveshell import InteractiveShell; "
    "shell = InteractiveShell.instance(); "
)
BASELINE = "import ipywidgets, httpx"
#: Ours includes the baseline's imports: the package imports neither until used, so timing it
#: alone would look cheaper than a notebook that goes on to make a widget or a request.
CASES = {
    "import omni_widgets": ("", f"{BASELINE}; import omni_widgets", BASELINE),
    "%load_ext omni_widgets": (
        SHELL,
        f"{BASELINE}; shell.run_line_magic('load_ext', 'omni_widgets')",
        BASELINE,
    ),
}
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def seconds(setup: str, code: str) -> float:
    """Seconds the code takes in a fresh interpreter, after ``setup``."""
    program = setup + TIMER.format(code=code)
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, env=ENV
    ).stdout
    return float(out.strip().splitlines()[-1])


def run(quick: bool) -> list[Row]:
    rounds = 5 if quick else 15
    rows = []
    for name, (setup, ours, baseline) in CASES.items():
        seconds(setup, ours), seconds(setup, baseline)  # warm the file cache
        extra: list[float] = []
        mine: list[float] = []
        theirs: list[float] = []
        for index in range(rounds):
            pair = [(ours, mine), (baseline, theirs)]
            for code, out in pair if index % 2 else pair[::-1]:
                out.append(seconds(setup, code))
            extra.append((mine[-1] - theirs[-1]) * 1e3)
        added = statistics.median(extra)
        rows.append(
            row(
                f"{name} over ipywidgets + httpx",
                f"<= +{GOAL_MS:g} ms",
                added,
                "ms",
                added <= GOAL_MS,
                ours_ms=statistics.median(mine) * 1e3,
                baseline_ms=statistics.median(theirs) * 1e3,
            )
        )
    return rows


if __name__ == "__main__":
    for item in run("--quick" in sys.argv):
        print(item)
