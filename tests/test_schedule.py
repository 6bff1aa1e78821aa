"""The polling plan and the client's timer queue, with a fake clock (no real waiting)."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from omni_widgets.core.schedule import MAX_WAIT_S, MIN_WAIT_S, PollPlan
from omni_widgets.core.scheduler import Queue
from omni_widgets.core.task import Task

TID = "task-unified-1-abc"


def running(progress: int, status: str = "processing") -> Task:
    return Task(id=TID, status=status, progress=progress)


def simulate(
    total: float, estimate: float | None, rng: random.Random, queue_for: float = 0.0
) -> tuple[int, float]:
    """Watch a task whose progress rises linearly after ``queue_for`` seconds until ``total``:
    how many queries it took and how late its end was seen."""
    plan = PollPlan.start(
        Task(id=TID, estimated_time=None if estimate is None else math.ceil(estimate)),
        0.0,
        rng=rng.random,
    )
    now, queries = plan.first_wait(), 0
    while True:
        queries += 1
        if now >= total:
            return queries, now - total
        if now < queue_for:
            task = running(0, "pending")
        else:
            task = running(max(1, min(99, 1 + int(98 * (now - queue_for) / (total - queue_for)))))
        now += plan.next_wait(task, now)


def fixed_poller(total: float, every: float = 3.0) -> tuple[int, float]:
    queries = math.ceil(total / every)
    return queries, queries * every - total


def test_first_query_comes_at_about_four_fifths_of_the_estimate() -> None:
    task = Task(id=TID, estimated_time=50)
    assert PollPlan.start(task, 0.0, rng=lambda: 0.5).first_wait() == pytest.approx(40)
    assert PollPlan.start(task, 0.0, rng=lambda: 0.0).first_wait() == pytest.approx(32)
    assert PollPlan.start(task, 0.0, rng=lambda: 0.999999).first_wait() == pytest.approx(48)


def test_without_an_estimate_or_for_a_resumed_task_the_interval_is_used() -> None:
    bare = PollPlan.start(Task(id=TID), 0.0, interval=4, rng=lambda: 0.5)
    assert bare.first_wait() == pytest.approx(4)
    resumed = PollPlan.start(
        Task(id=TID, estimated_time=60), 0.0, interval=4, fresh=False, rng=lambda: 0.5
    )
    assert resumed.first_wait() == pytest.approx(4)
    assert resumed.next_wait(running(0, "pending"), 0.0) == pytest.approx(4)


def test_waits_stay_between_one_and_ten_seconds_give_or_take_the_jitter() -> None:
    rng = random.Random(3)
    for total, interval in itertools.product((5.0, 30.0, 120.0, 600.0), (0.01, 3.0, 60.0)):
        plan = PollPlan.start(Task(id=TID, estimated_time=int(total)), 0.0, interval=interval)
        plan.rng = rng.random
        now = plan.first_wait()
        for _ in range(200):
            progress = min(99, int(100 * now / (2 * total)))  # slower than estimated
            wait = plan.next_wait(running(progress), now)
            assert MIN_WAIT_S <= wait <= MAX_WAIT_S * 1.2
            now += wait


def test_a_wait_aimed_at_the_expected_end_never_comes_before_it() -> None:
    for draw in (0.0, 0.3, 0.999):
        plan = PollPlan.start(Task(id=TID, estimated_time=30), 0.0, rng=lambda d=draw: d)
        # 80% (80.5% on average, as reported percentages are rounded down) at 24 s: at that
        # rate the last running percentage, 99%, is reached 5.55 s later.
        wait = plan.next_wait(running(80), 24.0)
        expected = (99 - 80.5) / (80 / 24)
        assert expected + 0.1 <= wait <= expected + 0.1 + 0.5 + 1e-9


def test_progress_far_from_the_end_gives_steps_of_at_most_ten_seconds() -> None:
    plan = PollPlan.start(Task(id=TID, estimated_time=300), 0.0, rng=lambda: 0.5)
    assert plan.next_wait(running(20), 60.0) == pytest.approx(10)
    assert plan.rate() == pytest.approx(20 / 60)


def test_a_late_task_is_asked_ever_less_often_up_to_the_cap() -> None:
    plan = PollPlan.start(Task(id=TID, estimated_time=10), 0.0, rng=lambda: 0.5)
    waits = [plan.next_wait(running(99), 10.0 + i) for i in range(12)]
    assert waits[0] == pytest.approx(MIN_WAIT_S)
    assert waits == sorted(waits) and waits[-1] == pytest.approx(MAX_WAIT_S)


def test_jitter_spreads_waits_by_up_to_a_fifth() -> None:
    waits = {
        PollPlan.start(Task(id=TID), 0.0, interval=5.0, rng=random.Random(i).random).first_wait()
        for i in range(300)
    }
    assert min(waits) >= 4.0 and max(waits) <= 6.0
    assert min(waits) < 4.2 and max(waits) > 5.8  # spread over the whole band


@pytest.mark.parametrize("total", [30.0, 60.0, 120.0])
def test_long_tasks_cost_a_quarter_of_a_3_s_pollers_queries_at_no_worse_lag(total: float) -> None:
    rng = random.Random(int(total))
    runs = [simulate(total, total, rng, queue_for=total * 0.05) for _ in range(200)]
    queries = sum(q for q, _ in runs) / len(runs)
    lags = sorted(lag for _, lag in runs)
    poller_queries, _ = fixed_poller(total)
    assert queries <= 0.25 * poller_queries
    assert lags[len(lags) // 2] <= 1.5  # a 3 s poller's median lag


def test_short_tasks_cost_no_more_than_a_3_s_poller() -> None:
    rng = random.Random(5)
    runs = [simulate(5.0, 5.0, rng) for _ in range(200)]
    assert sum(q for q, _ in runs) / len(runs) <= fixed_poller(5.0)[0]


# --- the queue ---------------------------------------------------------------------------------


def test_sleepers_wake_in_order_of_due_time_and_the_queue_says_when_next() -> None:
    queue: Queue[str] = Queue(limit=4)
    queue.sleep(0.0, 5.0, "b")
    queue.sleep(0.0, 2.0, "a")
    queue.sleep(1.0, 9.0, "c")
    step = queue.step(0.0)
    assert step.woken == [] and step.wake_at == 2.0
    step = queue.step(6.0)
    assert step.woken == ["a", "b"] and step.wake_at == 10.0
    assert queue.step(10.0).woken == ["c"] and queue.sleeping == 0


def test_no_more_requests_in_flight_than_the_limit() -> None:
    queue: Queue[int] = Queue(limit=3)
    for waiter in range(10):
        queue.want_slot(waiter)
    assert queue.step(0.0).granted == [0, 1, 2]
    assert queue.step(0.0).granted == [] and queue.in_flight == 3
    queue.release()
    assert queue.step(0.0).granted == [3]
    queue.release()
    queue.release()
    assert queue.step(0.0).granted == [4, 5] and queue.waiting == 4


def test_a_rate_limit_holds_the_whole_queue_until_it_passes() -> None:
    queue: Queue[str] = Queue(limit=8)
    queue.pause(10.0, 5.0)
    for waiter in ("a", "b", "c"):
        queue.want_slot(waiter)
    step = queue.step(12.0)
    assert step.granted == [] and step.wake_at == 15.0
    queue.pause(12.0, 1.0)  # a shorter pause never shortens the longer one
    assert queue.step(14.9).granted == []
    assert queue.step(15.0).granted == ["a", "b", "c"]


def test_waiters_that_gave_up_are_skipped_and_take_no_slot() -> None:
    queue: Queue[str] = Queue(limit=1)
    queue.want_slot("gone")
    queue.want_slot("here")
    queue.sleep(0.0, 1.0, "gone")
    step = queue.step(2.0, alive=lambda w: w != "gone")
    assert step.granted == ["here"] and step.woken == [] and queue.in_flight == 1


def test_a_step_resumes_no_more_waiters_than_its_budget() -> None:
    queue: Queue[str] = Queue(limit=2)
    for name in "abc":
        queue.want_slot(name)
    for name in "xyz":
        queue.sleep(0.0, 1.0, name)
    step = queue.step(1.0, budget=3)
    assert step.granted == ["a", "b"] and step.woken == ["x"] and step.more
    step = queue.step(1.0, budget=3)
    assert step.granted == [] and step.woken == ["y", "z"] and not step.more


def test_a_queue_needs_at_least_one_slot() -> None:
    with pytest.raises(ValueError, match="limit"):
        Queue(limit=0)
