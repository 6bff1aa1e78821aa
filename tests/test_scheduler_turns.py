"""The scheduler serves a lone waiter at once, exactly as the queue would, and never ahead of
others: in order, within the turn's budget, not during a 429's pause."""

from __future__ import annotations

import asyncio

from omni_widgets.core.scheduler import TURN_BUDGET, Queue, Scheduler


def test_a_free_slot_is_taken_at_once_only_when_the_queue_is_quiet() -> None:
    queue: Queue[str] = Queue(limit=2)
    assert queue.quiet(0.0) and queue.take_slot(0.0) and queue.in_flight == 1
    queue.sleep(0.0, 1.0, "sleeper")
    assert queue.take_slot(0.5) and queue.in_flight == 2  # not due yet
    assert not queue.take_slot(0.5)  # no slot left
    queue.release()
    assert not queue.quiet(1.0) and not queue.take_slot(1.0)  # the sleeper is due first
    assert queue.step(1.0).woken == ["sleeper"]
    queue.want_slot("waiter")
    assert not queue.take_slot(1.0)  # nobody overtakes a waiter
    assert queue.step(1.0).granted == ["waiter"] and queue.in_flight == 2


def test_no_slot_is_taken_while_a_429_holds_the_queue() -> None:
    queue: Queue[str] = Queue(limit=4)
    queue.pause(0.0, 2.0)
    assert queue.quiet(1.0) and not queue.take_slot(1.0) and queue.in_flight == 0
    assert queue.take_slot(2.0) and queue.in_flight == 1


def test_waiters_served_at_once_count_against_the_turn_budget() -> None:
    async def main() -> list[int]:
        scheduler = Scheduler()
        passed: list[int] = []  # how many turns had passed as each start was served
        turns = [0]

        def tick() -> None:
            turns[0] += 1
            asyncio.get_running_loop().call_soon(tick)

        asyncio.get_running_loop().call_soon(tick)
        for _ in range(TURN_BUDGET + 1):
            await scheduler.turn()
            passed.append(turns[0])
        async with scheduler.slot():
            passed.append(turns[0])
        return passed

    passed = asyncio.run(main())
    assert passed[:TURN_BUDGET] == [0] * TURN_BUDGET  # served in the first turn, no yield
    assert passed[TURN_BUDGET] >= 1 and passed[-1] == passed[TURN_BUDGET]


def test_slots_go_in_order_and_a_released_slot_goes_to_the_waiter() -> None:
    async def main() -> tuple[list[str], int]:
        scheduler = Scheduler(limit=1)
        order: list[str] = []

        async def request(name: str, hold: float) -> None:
            async with scheduler.slot():
                order.append(name)
                await asyncio.sleep(hold)

        first = asyncio.ensure_future(request("a", 0.01))
        await asyncio.sleep(0)
        others = [asyncio.ensure_future(request(n, 0)) for n in "bc"]
        await asyncio.sleep(0)
        late = asyncio.ensure_future(request("d", 0))  # comes after b and c, never before
        await asyncio.wait_for(asyncio.gather(first, *others, late), 10)  # not hang if broken
        return order, scheduler.queue.in_flight

    assert asyncio.run(main()) == (["a", "b", "c", "d"], 0)
