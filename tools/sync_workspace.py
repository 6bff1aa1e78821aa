"""Keep an untracked working copy of the tutorials, so running them never edits tracked files.

``./dev lab`` calls this before starting JupyterLab in the working folder (``workspace/``, listed in
.gitignore): Lab's autosave, outputs and videos then land there. A tutorial is copied when it is
new; when the tracked one changed since the last copy, the working copy is refreshed, and if the
user had edited or run it, their version is first kept as ``NAME.backup-YYYYmmdd-HHMMSS.ipynb``.
Why a copy rather than a git filter that strips outputs: a filter leaves the tracked file modified
on disk (``git status`` stays clean only through the filter, editors and Lab still rewrite it), and
it also strips outputs a tutorial author means to commit.

Usage: ``python tools/sync_workspace.py SOURCE_DIR WORK_DIR`` (prints what it did).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import time
from pathlib import Path

STAMPS = ".sources"  # inside WORK_DIR: the hash of each tracked file as last copied


def sync(source: Path, work: Path, *, now: float | None = None) -> list[str]:
    """Bring ``work`` up to date with ``source``; returns one line per action taken."""
    actions: list[str] = []
    stamps = work / STAMPS
    stamps.mkdir(parents=True, exist_ok=True)
    for tracked in sorted(p for p in source.iterdir() if p.is_file()):
        copy = work / tracked.name
        stamp = stamps / f"{tracked.name}.sha256"
        new = _digest(tracked)
        old = stamp.read_text().strip() if stamp.is_file() else None
        if copy.exists() and new == old:
            continue  # the tutorial did not change: keep the user's working copy as it is
        if copy.exists() and _digest(copy) not in (old, new):
            backup = copy.with_name(f"{copy.stem}.backup-{_when(now)}{copy.suffix}")
            copy.replace(backup)
            actions.append(f"{tracked.name} changed upstream: your version is kept as {backup}")
        elif copy.exists():
            actions.append(f"{tracked.name} changed upstream: refreshed {copy}")
        else:
            actions.append(f"copied {tracked} to {copy}")
        shutil.copy2(tracked, copy)
        stamp.write_text(new + "\n")
    return actions


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _when(now: float | None) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(now))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    for line in sync(Path(argv[0]), Path(argv[1])):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
