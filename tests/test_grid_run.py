"""Grids over real HTTP against the sandbox: order, budget, AIMD on 429s, stop and resume.

Creates are counted on the sandbox: a row is never created twice, whatever happened before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from omni_widgets import (
    AsyncOmniClient,
    BudgetExceededError,
    OmniClient,
    OmniError,
    Result,
    TextToVideo,
    ValidationError,
    plan,
    product,
    set_budget,
)
from omni_widgets.core.batch import GridStoppedError
from omni_widgets.core.batch_run import RowState, prepare, run_async
from omni_widgets.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=float("inf"), seed=11) as sb:
        yield sb


@pytest.fixture()
def sb(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.delenv("OMNI_BUDGET", raising=False)
    set_budget(None)
    sandbox.faults.clear()
    sandbox.reset_log()
    yield sandbox
    sandbox.faults.clear()


def creates(sb: Sandbox) -> int:
    """Creates the sandbox accepted (a 429 makes no task)."""
    return sum(
        1
        for r in sb.requests
        if r.method == "POST" and r.path.endswith("/generations") and r.status == 200
    )


def posts(sb: Sandbox) -> int:
    return sum(1 for r in sb.requests if r.method == "POST" and r.path.endswith("/generations"))


def sync_client(sb: Sandbox, **kwargs: Any) -> OmniClient:
    client = OmniClient(sb.api_key, sb.base_url, **kwargs)
    client._sleep = lambda seconds: None
    return client


def async_client(sb: Sandbox) -> AsyncOmniClient:
    client = AsyncOmniClient(sb.api_key, sb.base_url)

    async def no_wait(seconds: float) -> None:
        await asyncio.sleep(0)

    client._sleep = no_wait
    return client


def rows(n: int, tag: str) -> list[dict[str, Any]]:
    return product(prompts=[f"{tag} {i}" for i in range(n)], durations=[3])


def test_generate_many_returns_results_in_order_and_records_the_grid(
    sb: Sandbox, tmp_path: Any
) -> None:
    grid = product(
        TextToVideo("a kite", duration=3), aspect_ratios=["16:9", "9:16"], durations=[3, 4]
    )
    with sync_client(sb) as client:
        results = client.generate_many(grid, dest=tmp_path)
        assert all(isinstance(r, Result) for r in results)
        assert [r.task.request for r in results if isinstance(r, Result)] == plan(grid).requests
        assert creates(sb) == 4
        planned = plan(grid)
        assert client.ledger is not None
        recorded = client.ledger.grid_records(planned.grid_id)
        assert sorted(r.grid_row for r in recorded if r.grid_row is not None) == [0, 1, 2, 3]
        assert {r.status for r in recorded} == {"saved"}
        again = client.generate_many(grid, dest=tmp_path)  # the same grid: nothing re-sent
    assert creates(sb) == 4
    assert [r.path for r in again if isinstance(r, Result)] == [
        r.path for r in results if isinstance(r, Result)
    ]


def test_async_generate_many_runs_rows_at_once(sb: Sandbox, tmp_path: Any) -> None:
    async def main() -> list[Any]:
        async with async_client(sb) as client:
            return await client.generate_many(rows(5, "async"), concurrency=3, dest=tmp_path)

    results = asyncio.run(main())
    assert [type(r) for r in results] == [Result] * 5
    assert [r.task.request.prompt for r in results if r.task.request] == [
        f"async {i}" for i in range(5)
    ]
    assert creates(sb) == 5


def test_an_invalid_row_or_a_plan_over_budget_sends_nothing(sb: Sandbox) -> None:
    with sync_client(sb) as client:
        with pytest.raises(ValidationError, match=r"rows\[1\]\.duration"):
            client.generate_many([{"prompt": "a"}, {"prompt": "b", "duration": 42}])
        with pytest.raises(BudgetExceededError, match=r"28\.96.*over the budget of 20\.00"):
            client.generate_many([{"prompt": "a", "duration": 5}], budget=20)
        set_budget(10)
        with pytest.raises(BudgetExceededError, match="set_budget"):
            client.generate_many([{"prompt": "a", "duration": 5}])
        with pytest.raises(ValidationError, match="concurrency"):
            client.generate_many([{"prompt": "a"}], concurrency=0)
    assert posts(sb) == 0


def test_a_rate_limit_lowers_the_concurrency_and_every_row_is_made_once(
    sb: Sandbox, tmp_path: Any
) -> None:
    sb.faults.rate_limit(on="create", count=3, retry_after=0)
    with sync_client(sb) as client:
        run = prepare(client, rows(8, "limited"), concurrency=4, dest=tmp_path)
        from omni_widgets.core.batch_run import run_sync

        results = run_sync(client, run)
    assert [type(r) for r in results] == [Result] * 8
    assert run.aimd.history[0] == 4
    assert min(run.aimd.history) <= 2  # halved on the 429s
    assert posts(sb) - creates(sb) == 3
    assert creates(sb) == 8


def test_stop_sends_no_more_rows_and_resume_sends_only_those(sb: Sandbox, tmp_path: Any) -> None:
    grid = rows(5, "stop")

    async def first_run() -> list[Any]:
        async with async_client(sb) as client:
            run: Any = None

            def stop_after_first(state: RowState) -> None:
                if state.index == 1 and state.status == "sending":
                    run.stop()

            run = prepare(client, grid, concurrency=1, dest=tmp_path, on_change=stop_after_first)
            return await run_async(client, run)

    first = asyncio.run(first_run())
    assert [type(r) for r in first[:2]] == [Result, Result]  # the row in flight is finished
    assert all(isinstance(r, GridStoppedError) for r in first[2:])
    assert "not sent, the grid was stopped" in str(first[2])
    assert creates(sb) == 2
    with sync_client(sb) as client:
        second = client.generate_many(grid, dest=tmp_path)
    assert [type(r) for r in second] == [Result] * 5
    assert creates(sb) == 5


def test_a_recorded_task_is_watched_and_an_unknown_create_is_reported_not_resent(
    sb: Sandbox, tmp_path: Any
) -> None:
    grid = rows(3, "resume")
    planned = plan(grid)
    with sync_client(sb) as client:
        assert client.ledger is not None
        # row 0: a create whose answer was lost (as a killed kernel leaves it)
        client.ledger.record_submitting(
            client.base_url, planned.rows[0].request, grid=(planned.grid_id, 0)
        )
        # row 1: created earlier, never watched
        made = client._run(
            client._recorded_submit(planned.rows[1].request, grid=(planned.grid_id, 1)), None
        )
        results = client.generate_many(grid, dest=tmp_path)
    assert isinstance(results[0], OmniError) and not isinstance(results[0], ValidationError)
    assert "row 0" in str(results[0]) and "not re-sent" in str(results[0])
    assert isinstance(results[1], Result) and results[1].task.id == made.id
    assert isinstance(results[2], Result)
    assert creates(sb) == 2  # row 1 once (by hand), row 2 once; row 0 never
