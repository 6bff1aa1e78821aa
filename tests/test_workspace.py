"""``./dev lab``'s working copy of the tutorials (tools/sync_workspace.py): copied when new,
refreshed when the tracked one changes, a user's edited copy kept as a backup, never lost."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "sync_workspace", REPO / "tools/sync_workspace.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_working_copy_follows_the_tutorials_without_losing_edits(tmp_path: Path) -> None:
    sync = _tool().sync
    source, work = tmp_path / "notebooks", tmp_path / "workspace"
    source.mkdir()
    (source / "01.ipynb").write_text("v1")
    assert sync(source, work) == [f"copied {source / '01.ipynb'} to {work / '01.ipynb'}"]
    assert (work / "01.ipynb").read_text() == "v1"

    (work / "01.ipynb").write_text("v1 + my outputs")  # the user ran it; Lab saved
    assert sync(source, work) == []  # nothing changed upstream: the user's copy stays
    assert (work / "01.ipynb").read_text() == "v1 + my outputs"

    (source / "01.ipynb").write_text("v2")  # the tutorial changed upstream
    [action] = sync(source, work, now=0)
    backups = list(work.glob("01.backup-*.ipynb"))
    assert len(backups) == 1 and backups[0].read_text() == "v1 + my outputs"
    assert str(backups[0]) in action
    assert (work / "01.ipynb").read_text() == "v2"

    (source / "01.ipynb").write_text("v3")  # changed again, the copy untouched: no backup
    assert sync(source, work) == [f"01.ipynb changed upstream: refreshed {work / '01.ipynb'}"]
    assert (work / "01.ipynb").read_text() == "v3"
    assert len(list(work.glob("01.backup-*.ipynb"))) == 1


def test_the_working_copy_is_ignored_by_git_and_by_ruff() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "workspace/01_quickstart.ipynb"], cwd=REPO
    )
    assert ignored.returncode == 0
    work = REPO / "workspace"
    created = not work.exists()
    probe = work / "_ruff_probe_unused_import.py"
    work.mkdir(exist_ok=True)
    probe.write_text("import os\n")  # F401 if ruff looked at it
    try:
        ruff = [str(Path(sys.executable).parent / "ruff"), "check"]
        listed = subprocess.run([*ruff, "--show-files", "."], cwd=REPO, capture_output=True)
        assert listed.returncode == 0 and b"_ruff_probe" not in listed.stdout
        named = subprocess.run([*ruff, str(probe)], cwd=REPO, capture_output=True)
        assert named.returncode == 0, named.stdout  # force-exclude: even when named
    finally:
        probe.unlink()
        if created:
            work.rmdir()
