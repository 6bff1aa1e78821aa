"""``%%omni grid`` in an IPython shell against a sandbox: rows from lines and axes, bad options
and rows refused before anything is sent, and ``%config OmniMagics.budget`` asking to confirm."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from omni_widgets import Result, set_budget
from omni_widgets.magics import magics as _magics
from omni_widgets.magics.grid import grid_rows, parse_grid_line
from omni_widgets.notebook.connection import Connection
from omni_widgets.notebook.grid import Grid
from omni_widgets.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=float("inf"), seed=3) as sb:
        yield sb


@pytest.fixture
def ip(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[InteractiveShell]:
    for name in ("EVOLINK_API_KEY", "OMNI_BUDGET"):
        monkeypatch.delenv(name, raising=False)
    set_budget(None)
    monkeypatch.setenv("OMNI_API_KEY", sandbox.api_key)
    monkeypatch.setenv("OMNI_BASE_URL", sandbox.base_url)
    monkeypatch.chdir(tmp_path)
    real_connect = _magics.connect

    def connect(*args: Any, **kwargs: Any) -> Connection:
        connection = real_connect(*args, **kwargs)

        async def short(seconds: float) -> None:
            await asyncio.sleep(min(seconds, 0.05))

        connection.client._sleep = short
        connection.sync_client._sleep = lambda s: time.sleep(min(s, 0.05))
        return connection

    monkeypatch.setattr(_magics, "connect", connect)
    sandbox.reset_log()
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "omni_widgets")
    yield shell
    shell.run_line_magic("unload_ext", "omni_widgets")
    shell.user_ns.pop("g", None)
    shell.config.OmniMagics.pop("budget", None)  # %config outlives the extension


def posts(sb: Sandbox) -> int:
    return sum(1 for r in sb.requests if r.method == "POST" and r.path.endswith("/generations"))


def test_lines_times_axes_make_the_rows() -> None:
    options = parse_grid_line(["--duration", "5", "6", "--aspect", "16:9", "9:16"])
    rows = grid_rows(options, "a kite\n\n  a boat  \n", 5, "16:9")
    assert len(rows) == 8
    assert rows[0] == {"prompt": "a kite", "duration": 5, "aspect_ratio": "16:9"}
    assert rows[-1] == {"prompt": "a boat", "duration": 6, "aspect_ratio": "9:16"}
    assert grid_rows(parse_grid_line([]), "x", 7, "9:16") == [
        {"prompt": "x", "duration": 7, "aspect_ratio": "9:16"}
    ]


def test_bad_options_are_one_line_usage_errors() -> None:
    with pytest.raises(UsageError, match=r"--duration: '42' is out of range|--duration"):
        parse_grid_line(["--duration", "5", "42"])
    with pytest.raises(UsageError, match="--concurrency"):
        parse_grid_line(["--concurrency", "0"])
    with pytest.raises(UsageError, match="first line"):
        parse_grid_line(["a", "prompt"])


def test_a_grid_cell_runs_every_row_and_stores_the_grid(
    ip: InteractiveShell, sandbox: Sandbox
) -> None:
    async def body() -> list[Any]:
        ip.run_cell_magic("omni", "grid --duration 3 4 --aspect 16:9 9:16 -o g", "a kite\n")
        view = ip.user_ns["g"]
        assert isinstance(view, Grid)
        return await asyncio.wait_for(view.wait(), 60)

    results = asyncio.run(body())
    assert [type(r) for r in results] == [Result] * 4
    assert posts(sandbox) == 4
    rows = ip.user_ns["g"].rows
    assert [(r["duration"], r["aspect_ratio"], r["status"]) for r in rows] == [
        (3, "16:9", "saved"),
        (3, "9:16", "saved"),
        (4, "16:9", "saved"),
        (4, "9:16", "saved"),
    ]


def test_an_invalid_row_sends_nothing(ip: InteractiveShell, sandbox: Sandbox) -> None:
    with pytest.raises(UsageError, match=r"rows\[0\]\.prompt.*no task was created"):
        ip.run_cell_magic("omni", "grid", "x" * 10_001)
    assert posts(sandbox) == 0


def test_config_budget_asks_to_confirm_before_sending(
    ip: InteractiveShell, sandbox: Sandbox
) -> None:
    ip.run_line_magic("config", "OmniMagics.budget = 10.0")

    async def body() -> Grid:
        ip.run_cell_magic("omni", "grid --duration 3 -o g", "a kite\na boat\n")
        view: Grid = ip.user_ns["g"]
        await asyncio.sleep(0.1)
        return view

    view = asyncio.run(body())
    assert view.problem is not None and "(OmniMagics.budget)" in str(view.problem)
    assert "34.76" in str(view.problem) and "10.00" in str(view.problem)
    assert not view.running
    assert posts(sandbox) == 0


def test_the_panel_asks_once_before_a_submit_over_the_session_budget(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omni_widgets.notebook.panel import Panel

    monkeypatch.delenv("OMNI_BUDGET", raising=False)
    sandbox.reset_log()
    connection = Connection(sandbox.api_key, sandbox.base_url, True, "sandbox", 0.05)
    panel = Panel(connection=connection, output_dir=tmp_path / "videos")
    panel.prompt.value = "a kite over the sea"
    set_budget(1)
    try:

        async def clicks() -> None:
            panel.generate_button.click()
            assert panel.jobs == [] and posts(sandbox) == 0
            assert "over the budget of 1.00 credits" in panel.message_text
            assert "Generate again" in panel.message_text
            panel.generate_button.click()  # confirmed
            assert len(panel.jobs) == 1
            job = panel.jobs[0]
            assert job._future is not None
            await asyncio.wait_for(asyncio.shield(job._future), 60)

        asyncio.run(clicks())
    finally:
        set_budget(None)
    assert posts(sandbox) == 1


def test_a_single_generation_over_the_budget_creates_nothing(
    ip: InteractiveShell, sandbox: Sandbox
) -> None:
    ip.run_line_magic("config", "OmniMagics.budget = 5.0")
    with pytest.raises(UsageError, match=r"28\.96 credits, over the budget of 5\.00.*OmniMagics"):
        ip.run_line_magic("omni", "a kite over the sea --duration 5")
    assert posts(sandbox) == 0
