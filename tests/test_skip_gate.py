"""The skip gate (_skip_gate.py) on a small suite of its own, run by pytest in a subprocess: a skip
fails unless the test is marked ``may_skip``; passes, xfails and allowed skips are untouched. A
skipped module becomes a collection error (which stops a run unless told to continue)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
PYTEST = [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"]

CONFTEST = f"""
import sys
sys.path.insert(0, {str(TESTS_DIR)!r})
from _skip_gate import SkipGate

def pytest_configure(config):
    config.addinivalue_line("markers", "may_skip: allowed to skip")
    config.pluginmanager.register(SkipGate(), "gate")
"""
SUITE = """
import pytest

def test_runs():
    pass

def test_skips_by_call():
    pytest.skip("no vendor files")

@pytest.mark.skip(reason="not today")
def test_skips_by_marker():
    pass

@pytest.fixture
def needs_a_browser():
    pytest.skip("no browser")

def test_skips_in_a_fixture(needs_a_browser):
    pass

@pytest.mark.may_skip
def test_may_skip():
    pytest.skip("allowed here")

@pytest.mark.xfail(reason="a known bug")
def test_known_bug():
    assert False
"""
SKIPPED_MODULE = """
import pytest
pytest.skip("the whole module", allow_module_level=True)
"""


@pytest.mark.slow  # a whole pytest run in a subprocess
def test_skips_fail_unless_the_test_may_skip(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_suite.py").write_text(SUITE)
    (tmp_path / "test_skipped_module.py").write_text(SKIPPED_MODULE)
    result = subprocess.run(
        [*PYTEST, "--continue-on-collection-errors", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (\w+)", out.splitlines()[-1])}
    assert counts == {"passed": 1, "failed": 1, "skipped": 1, "xfailed": 1, "errors": 3}, out
    assert result.returncode == 1
    assert "SKIPPED [1] test_suite.py" in out and "allowed here" in out
    assert "FAILED test_suite.py::test_skips_by_call" in out, out
    for name in ("test_skips_by_marker", "test_skips_in_a_fixture"):  # skipped while setting up
        assert f"ERROR test_suite.py::{name}" in out, out
    assert "ERROR test_skipped_module.py" in out, out
    assert "only tests marked @pytest.mark.may_skip may skip: no vendor files" in out
    assert "not today" in out and "no browser" in out and "the whole module" in out
