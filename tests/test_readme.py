"""Every code block of README.md works as pasted, so the README cannot drift from the code.

- ``python`` blocks run in a real kernel, in README order, as a reader pasting them into one
  notebook would; the kernel's cwd is a temp folder holding the images the blocks name, and its
  environment points at an in-process sandbox (``OMNI_BASE_URL``/``OMNI_API_KEY``), as a reader's
  key would. Before each block that does not start with a magic the namespace is reset, so a block
  that forgets its imports fails; magic blocks continue the notebook (``%load_ext`` stays, and a
  ``%%omni`` block uses the variable the block before it defined).
- ``text`` blocks are outputs; each is listed in ``OUTPUTS`` with the code that prints it.
- ``bash`` lines run elsewhere or not at all, each for the reason given in ``NOT_RUN_HERE``;
  the test fails if a listed line disappears from the README or an unlisted one appears.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _kernel import Kernel
from PIL import Image

from omni_widgets import TextToVideo, ValidationError, __version__
from omni_widgets.sandbox import Sandbox

pytestmark = pytest.mark.kernel

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

NOT_RUN_HERE = {
    "./dev lab": "starts JupyterLab and runs until Ctrl-C (tests/test_browser_* drive Lab)",
    "./dev test": "runs this very test suite",
    './dev test -m "not browser and not slow"': "runs a part of this very test suite",
    "python3 -m venv .venv && . .venv/bin/activate": "the clone install: ./dev setup makes the "
    "same venv and editable install (with the dev extra) on every CI run",
    'pip install -e ".[sandbox]"': "the same as ./dev setup, which every CI run does",
    "./dev docs": "builds the course site (minutes); tests/test_curriculum.py runs every notebook",
    "./dev dist": "tests/test_dist.py runs it, then installs the wheel in a clean venv",
    f'pip install "dist/omni_widgets-{__version__}-py3-none-any.whl[sandbox]"': "tests/"
    "test_dist.py installs that wheel (its dependencies come from the test venv, for speed)",
    'pip install "omni-widgets[sandbox]"': "not on PyPI yet; the README says so",
}


def _validation_output() -> str:
    try:
        TextToVideo("a red kite over the sea", duration=12, aspect_ratio="4:3")  # type: ignore[arg-type]
    except ValidationError as exc:
        return f"ValidationError: {exc}"
    raise AssertionError("TextToVideo accepted duration=12 and aspect_ratio='4:3'")


#: ``text`` blocks are outputs: the first words of the block -> what really prints them.
OUTPUTS = {"ValidationError: 2 problems in TextToVideo": _validation_output}


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int  # where the block starts in README.md, for messages

    @property
    def is_magic(self) -> bool:
        return self.code.lstrip().startswith("%")


def readme_blocks() -> list[Block]:
    """The fenced code blocks of README.md, in order."""
    blocks = []
    fence = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
    text = README.read_text(encoding="utf-8")
    for match in fence.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        blocks.append(Block(match.group(1), match.group(2), line))
    return blocks


def _bash_lines() -> list[str]:
    lines = []
    for block in readme_blocks():
        if block.language == "bash":
            for raw in block.code.splitlines():
                command = re.sub(r"\s+#.*$", "", raw).strip()
                if command:
                    lines.append(command)
    return lines


def test_every_block_has_a_known_language() -> None:
    languages = {block.language for block in readme_blocks()}
    assert languages <= {"python", "bash", "text"}, languages


def test_bash_lines_are_each_run_elsewhere_or_not_run_for_a_reason() -> None:
    lines = _bash_lines()
    assert set(lines) == set(NOT_RUN_HERE), (
        "README bash lines changed: list each new one in NOT_RUN_HERE with its reason (or run "
        "it), and drop the ones that are gone"
    )


def test_magic_lines_carry_no_trailing_comments() -> None:
    # In a line magic, "#" is part of the argument (FIELD-NOTES): "a kite  # note" would be the
    # prompt. Python blocks may comment; magic lines may not.
    for block in readme_blocks():
        for line in block.code.splitlines():
            if line.startswith("%") and not line.startswith("%%"):
                assert "#" not in line, f"README.md:{block.line}: {line}"


def test_output_blocks_show_what_the_code_prints() -> None:
    texts = [block for block in readme_blocks() if block.language == "text"]
    assert texts, "the README shows no output block any more: update OUTPUTS"
    for block in texts:
        producer = next((f for start, f in OUTPUTS.items() if block.code.startswith(start)), None)
        assert producer is not None, f"README.md:{block.line}: unknown output block"
        assert " ".join(block.code.split()) == " ".join(producer().split())


def _image(path: Path, size: tuple[int, int], colour: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=path.suffix.lstrip(".").upper())
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def readme_kernel(tmp_path: Path) -> Iterator[tuple[Kernel, Sandbox, Path]]:
    for name, size, colour in (
        ("portrait.png", (360, 640), "teal"),
        ("cat.png", (320, 320), "orange"),
        ("yarn.webp", (320, 240), "purple"),
    ):
        _image(tmp_path / name, size, colour)
    with Sandbox(speed=float("inf"), seed=5) as sb:
        env = {"OMNI_API_KEY": sb.api_key, "OMNI_BASE_URL": sb.base_url, "PYTHONPATH": str(REPO)}
        with Kernel(env=env, cwd=tmp_path) as kernel:
            yield kernel, sb, tmp_path


def test_python_and_magic_blocks_run_as_pasted(
    readme_kernel: tuple[Kernel, Sandbox, Path],
) -> None:
    kernel, sb, folder = readme_kernel
    blocks = [block for block in readme_blocks() if block.language == "python"]
    assert any(block.is_magic for block in blocks) and len(blocks) >= 8
    for block in blocks:
        if not block.is_magic:
            kernel.execute("%reset -f")
        result = kernel.execute(block.code, timeout=120, check=False)
        assert result.status == "ok" and result.error is None, (
            f"README.md:{block.line} failed:\n{block.code}\n"
            + "\n".join((result.error or {}).get("traceback", []))
        )
    # The magics' tasks run on in the background: every one must end with a saved video.
    kernel.execute("from omni_widgets.notebook.jobs import session_jobs")
    kernel.wait_until("all(job.done for job in session_jobs())", timeout=120)
    phases = kernel.value("[(job.phase, job.error_message) for job in session_jobs()]")
    assert phases and all(phase == ("completed", "") for phase in phases), phases
    assert len(phases) == 7  # %omni in "The magics" (1), the five kinds (5), %%omni (1)
    # Grids (the widget and the grid cell) save in the background too. The async block's task
    # is only watched; the ledger block's resume_pending() then saves it.
    deadline = time.monotonic() + 120
    while (not_saved := _not_saved(sb, folder)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not_saved == []


def _not_saved(sb: Sandbox, folder: Path) -> list[str]:
    saved = {video.stem for video in (folder / "omni_outputs").glob("*.mp4")}
    return [task_id for task_id in sb.created_task_ids if task_id not in saved]
