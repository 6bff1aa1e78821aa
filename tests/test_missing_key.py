"""A client without a key, in a real kernel: a few readable lines, not a 30-line traceback.

The key is resolved when the first request is built, so the error comes from deep inside
``generate``; IPython shows ``_render_traceback_`` instead of the stack.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _kernel import Kernel

pytestmark = pytest.mark.kernel

REPO = Path(__file__).resolve().parents[1]
NO_KEY_CELL = """
from omni_widgets import OmniClient, TextToVideo

with OmniClient() as client:
    client.generate(TextToVideo("a red kite over the sea", duration=4))
"""


def test_no_key_reads_as_a_short_message_in_a_notebook(tmp_path: Path) -> None:
    with Kernel(env={"PYTHONPATH": str(REPO)}, cwd=tmp_path) as kernel:
        failed = kernel.execute(NO_KEY_CELL, check=False)
    assert failed.status == "error" and failed.error is not None
    assert failed.error["ename"] == "MissingAPIKeyError"
    lines = failed.error["traceback"]
    assert len(lines) <= 8
    text = "\n".join(lines)
    assert "Traceback" not in text and "File " not in text
    assert "OMNI_API_KEY" in text  # how to set a key
    assert "Sandbox().start()" in text  # or how to do without one
