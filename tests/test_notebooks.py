"""Every notebook we ship runs top to bottom in a real kernel, and is stored clean."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from _notebooks import NOTEBOOK_DIR, SOLUTION_DIR, errors, execute, read, tagged, text

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SOLUTIONS = sorted(SOLUTION_DIR.glob("*.ipynb"))


def test_there_is_a_quickstart() -> None:
    assert [p.name for p in NOTEBOOKS][:1] == ["01_quickstart.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.relative_to(NOTEBOOK_DIR))
def test_notebook_is_stored_without_outputs_or_widget_state(path: Path) -> None:
    notebook = read(path)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not dirty, f"code cells {dirty} of {path.name} have outputs or execution counts"
    assert "widgets" not in notebook.metadata


def _slow_unless_quickstart(path: Path) -> object:
    marks = [] if path.name == "01_quickstart.ipynb" else [pytest.mark.slow]
    return pytest.param(path, marks=marks, id=path.name)


@pytest.mark.kernel
@pytest.mark.parametrize("path", [_slow_unless_quickstart(p) for p in NOTEBOOKS])
def test_notebook_runs_without_errors(path: Path, tmp_path: Path) -> None:
    notebook = execute(path, tmp_path)
    assert errors(notebook) == []
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    mimetypes = {key for out in outputs for key in out.get("data", {})}
    if path.name == "01_quickstart.ipynb":
        assert "application/vnd.jupyter.widget-view+json" in mimetypes
        texts = " ".join(str(out.get("data", {}).get("text/plain", "")) for out in outputs)
        assert "press Generate" in texts
    # Unsolved, every exercise's check tells the learner what is still missing.
    for cell in tagged(notebook, "check"):
        assert text(cell).startswith("Not yet:"), text(cell)
