"""Run every benchmark (``bench/bench_*.py``), print the goals table, write bench/results.json.

    .venv/bin/python bench/run.py [--quick] [--only NAME ...] [--update-readme]

Each module exposes ``run(quick: bool) -> list[dict]`` returning rows ``{name, goal, measured,
unit, met}``; modules without ``run`` are ignored, so a new benchmark plugs in by being a file.
``--update-readme`` rewrites the table between the README's bench markers from the results
file (with no other option, it does not re-measure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"
README = ROOT / "README.md"
START = "<!-- bench:start (regenerate with ./dev bench --update-readme) -->"
END = "<!-- bench:end -->"


def modules(only: list[str]) -> list[tuple[str, ModuleType]]:
    """The benchmark modules, by name (``bench_x.py`` is ``x``), those named in ``only`` if any."""
    sys.path.insert(0, str(HERE))
    found = []
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if only and name not in only and path.stem not in only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if callable(getattr(module, "run", None)):
            found.append((name, module))
    return found


def measure(only: list[str], quick: bool) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for name, module in modules(only):
        print(f"==> bench {name}", flush=True)
        start = time.perf_counter()
        try:
            produced = module.run(quick)
        except Exception:
            traceback.print_exc()
            produced = [
                {
                    "name": f"{name}: crashed",
                    "goal": "runs",
                    "measured": 0,
                    "unit": "",
                    "met": False,
                }
            ]
        for item in produced:
            item.setdefault("module", name)
            rows.append(item)
        print(f"    {len(produced)} figures in {time.perf_counter() - start:.1f} s", flush=True)
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "rows": rows,
    }


def _measured(item: dict[str, Any]) -> str:
    value = item["measured"]
    text = f"{value:.3g}" if isinstance(value, float) else str(value)
    return f"{text} {item.get('unit', '')}".strip()


def table(results: dict[str, Any], markdown: bool) -> str:
    """The goals table as aligned text (terminal) or a Markdown table (README)."""
    head = ("figure", "goal", "measured", "met")
    lines = [
        (str(r["name"]), str(r["goal"]), _measured(r), "yes" if r["met"] else "NO")
        for r in results["rows"]
    ]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(c[i]) for c in [head, *lines]) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        for cells in [head, *lines]
    )


def update_readme(results: dict[str, Any]) -> None:
    """Replace the text between the README's bench markers with the table of ``results``."""
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        sys.exit(f"README.md has no bench markers ({START} ... {END})")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    mode = "quick run" if results.get("quick") else "full run"
    machine = results["machine"]
    note = (
        f"Measured {results['when'][:10]} ({mode}) on {machine['cpus']} cores, "
        f"Python {machine['python']}; `bench/results.json` has the raw figures."
    )
    README.write_text(f"{head}{START}\n{table(results, True)}\n\n{note}\n{END}{tail}", "utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller sizes")
    parser.add_argument("--only", nargs="*", default=[], help="module names, e.g. client ledger")
    parser.add_argument("--update-readme", action="store_true", help="rewrite the README table")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results file")
    args = parser.parse_args()
    if args.update_readme and not args.quick and not args.only:
        update_readme(json.loads(args.output.read_text(encoding="utf-8")))
        print(f"README.md table rewritten from {args.output}")
        return 0
    results = measure(args.only, args.quick)
    print()
    print(table(results, False))
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.output}")
    if args.update_readme:
        update_readme(results)
    return 0 if all(r["met"] for r in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
