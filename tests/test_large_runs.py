"""A large run of jobs in one kernel: the heap it started with is frozen, so full collections
skip it, and unfrozen when the run ends (small runs, others' freezes and OMNI_GC_FREEZE=0 are
left alone); the ticker redraws at most a few cards per wake-up, each once a round."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from omni_widgets.notebook.quiet_gc import REFREEZE_S, RUN_SIZE, QuietGC
from omni_widgets.notebook.ticker import QUIET_GC, Ticker


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    QUIET_GC.end()
    gc.unfreeze()


def test_a_large_run_freezes_the_heap_and_its_end_unfreezes_it() -> None:
    now = [100.0]
    quiet = QuietGC(clock=lambda: now[0])
    quiet.running(RUN_SIZE - 1)
    assert gc.get_freeze_count() == 0, "a small run leaves the collector alone"
    quiet.running(RUN_SIZE)
    frozen = gc.get_freeze_count()
    assert frozen > 0
    kept = [(object(), []) for _ in range(10)]  # made during the run (tracked by the collector)
    now[0] += REFREEZE_S / 2
    quiet.running(RUN_SIZE + 1)
    assert gc.get_freeze_count() == frozen, "frozen again only once a second"
    now[0] += REFREEZE_S / 2
    quiet.running(RUN_SIZE // 2)  # fewer than RUN_SIZE now, but the run goes on
    assert gc.get_freeze_count() > frozen, "what the run built is frozen too"
    quiet.running(0)
    assert gc.get_freeze_count() == 0 and kept


def test_a_freeze_made_by_someone_else_is_left_as_it_is() -> None:
    gc.freeze()
    theirs = gc.get_freeze_count()
    quiet = QuietGC()
    quiet.running(RUN_SIZE * 3)
    quiet.end()
    assert gc.get_freeze_count() == theirs and not quiet.active


def test_omni_gc_freeze_0_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_GC_FREEZE", "0")
    quiet = QuietGC()
    quiet.running(RUN_SIZE * 3)
    assert gc.get_freeze_count() == 0 and not quiet.active


class Member:
    """A running job as the ticker sees it, counting its ticks."""

    def __init__(self) -> None:
        self.running = True
        self.ticks = 0

    def tick(self) -> None:
        self.ticks += 1


def test_the_ticker_freezes_for_a_large_run_and_unfreezes_when_it_ends() -> None:
    seen: list[int] = []

    async def main() -> None:
        ticker = Ticker()
        members = [Member() for _ in range(RUN_SIZE)]
        for member in members:
            ticker.add(member)
        await asyncio.sleep(0)  # the ticker's first turn
        seen.append(gc.get_freeze_count())
        for member in members:
            member.running = False
        assert ticker._task is not None
        await ticker._task  # every slice visited: no member runs, the ticker ends
        seen.append(gc.get_freeze_count())

    asyncio.run(main())
    assert seen[0] > 0 and seen[1] == 0


def test_a_large_run_ticks_at_most_per_step_members_per_wake_up_each_once_a_round() -> None:
    from omni_widgets.notebook.ticker import PER_STEP, SLICES

    async def main() -> tuple[list[Member], list[int]]:
        ticker = Ticker()
        members = [Member() for _ in range(1000)]
        for member in members:
            ticker.add(member)
        ticks: list[int] = []
        steps = 0
        while steps == 0 or ticker._next != 0 or ticker._rest is not None:
            ticks.append(ticker.tick_slice())
            steps += 1
        for member in members:
            member.running = False
        return members, ticks

    members, ticks = asyncio.run(main())
    assert all(member.ticks == 1 for member in members)
    assert max(ticks) == PER_STEP and len(ticks) == 1000 // PER_STEP
    assert sum(ticks) == 1000 and len(ticks) > SLICES  # a round takes more wake-ups, not bigger
