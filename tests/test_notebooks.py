"""Every notebook we ship runs top to bottom in a real kernel, and is stored clean."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from _kernel import sanitized_env
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_there_is_a_quickstart() -> None:
    assert [p.name for p in NOTEBOOKS][:1] == ["01_quickstart.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs_or_widget_state(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    assert "widgets" not in notebook.metadata


@pytest.mark.kernel
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_without_errors(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    env = sanitized_env()
    env["PYTHONPATH"] = str(Path(__file__).parents[1])
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=env)
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    mimetypes = {key for out in outputs for key in out.get("data", {})}
    if path.name == "01_quickstart.ipynb":
        assert "application/vnd.jupyter.widget-view+json" in mimetypes
        texts = " ".join(str(out.get("data", {}).get("text/plain", "")) for out in outputs)
        assert "press Generate" in texts
