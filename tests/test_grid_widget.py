"""The grid widget: coalesced redraws (counted as widget value changes), budget confirm, stop
and resume. The service is an httpx.MockTransport fake that makes each task in three polls."""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from _mock import BASE, KEY, MP4, async_client, task_body

from omni_widgets import Result, set_budget
from omni_widgets.core.batch import GridStoppedError, plan, product
from omni_widgets.core.batch_run import RowState
from omni_widgets.notebook.connection import Connection
from omni_widgets.notebook.grid import Grid


class FakeService:
    """Creates numbered tasks; each answers processing, processing, then completed."""

    def __init__(self) -> None:
        self.numbers = itertools.count(1)
        self.polls: dict[str, int] = {}
        self.creates = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "api.test":
            return httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"})
        if request.method == "POST":
            self.creates += 1
            return httpx.Response(200, json=task_body(f"task-unified-{next(self.numbers)}-x"))
        task_id = request.url.path.rsplit("/", 1)[-1]
        self.polls[task_id] = self.polls.get(task_id, 0) + 1
        if self.polls[task_id] < 3:
            return httpx.Response(
                200, json=task_body(task_id, "processing", 30 * self.polls[task_id])
            )
        return httpx.Response(
            200,
            json=task_body(task_id, "completed", 100, results=[f"https://cdn.test/{task_id}.mp4"]),
        )


@pytest.fixture(autouse=True)
def _no_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNI_BUDGET", raising=False)
    set_budget(None)


def make_grid(
    service: FakeService, rows: list[dict[str, Any]], tmp_path: Path, **kwargs: Any
) -> Grid:
    client = async_client(service)

    async def yielding_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    client._sleep = yielding_sleep
    connection = Connection(KEY, BASE, False, "test", _async=client)
    return Grid(plan(rows), connection, dest=str(tmp_path), **kwargs)


def count_ticks(view: Grid) -> list[int]:
    """Replace the flusher's 0.1 s sleep by a few loop turns, counting each as one tick."""
    ticks = [0]

    async def tick(seconds: float) -> None:
        ticks[0] += 1
        for _ in range(10):
            await asyncio.sleep(0)

    view._sleep = tick
    return ticks


def test_a_200_row_grid_sends_at_most_one_redraw_per_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tick here is a few loop turns, and the async client writes its ledger on worker threads,
    # which loop turns do not stand for: without a ledger the turns measure the redraws alone.
    monkeypatch.setenv("OMNI_LEDGER", "off")
    service = FakeService()
    view = make_grid(service, product(prompts=[f"p{i}" for i in range(200)], duration=3), tmp_path)
    ticks = count_ticks(view)
    messages: list[str] = []
    view.view.observe(lambda change: messages.append(change["new"]), names="value")
    menus: list[object] = []
    view.picker.observe(lambda change: menus.append(change["new"]), names="options")
    changes = [0]
    inner = view.run.on_change

    def counted(state: RowState) -> None:
        changes[0] += 1
        assert inner is not None
        inner(state)

    view.run.on_change = counted

    async def main() -> list[Any]:
        view.start()
        return await view.wait()

    results = asyncio.run(main())
    assert [type(r) for r in results] == [Result] * 200
    assert service.creates == 200
    # one HTML value per flush tick (each tick stands for 0.1 s: at most 10 messages a second),
    # and the player's list of finished rows at most once every 10 ticks (once a second)
    assert len(messages) <= ticks[0]
    assert len(menus) <= ticks[0] // 10 + 1
    assert changes[0] >= 4 * 200 > 4 * len(messages)  # many row changes, few messages
    final = messages[-1]
    assert final.count("▶ play #") == 200
    assert len(view.picker.options) == 201
    view.picker.value = 7
    assert bytes(view.player.value) == MP4
    assert "row 7" in view.player_note.value
    assert "200/200 done" in final and "0 failed" in final
    assert view.rows[0]["status"] == "saved" and view.rows[0]["path"]


def test_over_budget_nothing_is_sent_until_confirmed(tmp_path: Path) -> None:
    service = FakeService()
    view = make_grid(service, product(prompts=["a", "b"], duration=10), tmp_path, budget=50)
    count_ticks(view)

    async def main() -> list[Any]:
        view.start()
        assert view.problem is not None and not view.running
        assert "115.84" in view.view.value and "50.00" in view.view.value
        assert view.confirm_button in view.children[0].children  # type: ignore[attr-defined]
        assert service.creates == 0
        view.confirm_button.click()
        return await view.wait()

    results = asyncio.run(main())
    assert [type(r) for r in results] == [Result, Result]
    assert service.creates == 2


def test_stop_leaves_rows_unsent_and_resume_sends_them_once(tmp_path: Path) -> None:
    service = FakeService()
    view = make_grid(
        service, product(prompts=[f"s{i}" for i in range(6)], duration=3), tmp_path, concurrency=1
    )
    count_ticks(view)

    async def main() -> tuple[list[Any], list[Any]]:
        view.start()
        while service.creates < 2:
            await asyncio.sleep(0)
        view.stop_button.click()
        first = await view.wait()
        view.resume_button.click()
        second = await view.wait()
        return first, second

    first, second = asyncio.run(main())
    assert sum(isinstance(r, Result) for r in first) == 2
    assert all(isinstance(r, GridStoppedError) for r in first[2:])
    assert [type(r) for r in second] == [Result] * 6
    assert service.creates == 6
    assert re.search(r"6/6 done", view.view.value)
