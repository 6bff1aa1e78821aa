"""Run a notebook of notebooks/ in a real kernel against the sandbox, and read its outputs.

The notebook is executed in memory with a temporary folder as its working directory, so the
tracked file never gets outputs and videos land in the temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from _kernel import sanitized_env
from nbclient import NotebookClient
from nbformat import NotebookNode

REPO = Path(__file__).parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
SOLUTION_DIR = NOTEBOOK_DIR / "solutions"


def read(path: Path) -> NotebookNode:
    """The notebook at `path`, as nbformat version 4."""
    notebook: NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return notebook


def execute(path: Path, workdir: Path) -> NotebookNode:
    """Run every cell top to bottom with no key (so on a sandbox); errors stay in the outputs."""
    notebook = read(path)
    env = sanitized_env({"PYTHONPATH": str(REPO), "OMNI_TEACHING_SPEED": "inf"})
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env=env)
    return notebook


def errors(notebook: NotebookNode) -> list[str]:
    """Each error output as 'cell N: Name: value'."""
    return [
        f"cell {i}: {out.ename}: {out.evalue}"
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]


def text(cell: NotebookNode) -> str:
    """Everything a code cell printed or showed as plain text."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out:
            parts.append(str(out.data.get("text/plain", "")))
    return "\n".join(parts)


def tagged(notebook: NotebookNode, tag: str) -> list[NotebookNode]:
    """The cells carrying `tag` in their metadata."""
    return [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]
