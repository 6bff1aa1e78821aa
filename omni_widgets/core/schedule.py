"""When to query a running task next: progress-informed, jittered, pure (no I/O, no clock).

A fixed poller asks every few seconds and mostly learns nothing. This plan asks first at about
0.8x the service's estimate, then sizes each wait (1-10 s) from the progress rate it has seen,
aiming just past the expected end, so a 30 s task costs two or three queries and its end is seen
within about a second. Waits get +-20% jitter so that many tasks do not wake in step; a wait
aimed at the expected end is only ever stretched (by up to 20%, at most half a second), never
pulled before the end.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .task import Task

MIN_WAIT_S = 1.0
MAX_WAIT_S = 10.0
FIRST_SHARE = 0.8
JITTER = 0.2
END_MARGIN_S = 0.1
END_SPREAD_S = 0.5
OVERDUE_GROWTH = 1.5
# Services report at most 99% while running: the end is expected when the rate reaches it, and
# a query then that finds the task still running is followed a second later.
LAST_STEP = 99


@dataclass(frozen=True)
class PollAdvice:
    """A gateway's polling advice: the first query's share of the estimate and the wait bounds.

    ``batch_query`` says the gateway can report many tasks in one request; the scheduler's
    ``BatchQuery`` hook is where a gateway plugs that in.
    """

    first_share: float = FIRST_SHARE
    min_wait_s: float = MIN_WAIT_S
    max_wait_s: float = MAX_WAIT_S
    jitter: float = JITTER
    batch_query: bool = False


DEFAULT_ADVICE = PollAdvice()


@dataclass(slots=True)
class PollPlan:
    """The waits before each status query of one task, decided from what the queries showed.

    ``now`` values are any monotonic clock's seconds; ``rng`` returns floats in [0, 1).
    ``interval`` is the client's poll interval, used only when nothing better is known.
    """

    started: float
    estimate: float | None
    interval: float = 3.0
    fresh: bool = True
    rng: Callable[[], float] = random.random
    advice: PollAdvice = DEFAULT_ADVICE
    _origin: tuple[float, int] | None = None
    _first: tuple[float, int] | None = None
    _last: tuple[float, int] | None = None
    _overdue: int = 0

    @classmethod
    def start(
        cls,
        task: Task,
        now: float,
        *,
        interval: float = 3.0,
        fresh: bool = True,
        rng: Callable[[], float] = random.random,
        advice: PollAdvice = DEFAULT_ADVICE,
    ) -> PollPlan:
        """A plan for a task seen at ``now``; ``fresh`` means it was just created (0% at now)."""
        estimate = float(task.estimated_time) if task.estimated_time else None
        plan = cls(now, estimate, interval, fresh, rng, advice)
        if fresh:
            plan._origin = (now, 0)
        return plan

    def first_wait(self) -> float:
        """The wait before the first query: about 0.8x the estimate (the interval without one)."""
        if self.estimate is None or not self.fresh:
            return self._spread(self._bounded(self.interval))
        return self._spread(max(self.advice.min_wait_s, self.advice.first_share * self.estimate))

    def next_wait(self, task: Task, now: float) -> float:
        """The wait after a query at ``now`` showed ``task`` (not yet finished)."""
        self._observe(task, now)
        remaining = self._remaining(now)
        if remaining is None:
            return self._spread(self._bounded(self.interval))
        if remaining <= 0:
            # Past the expected end: ask often at first, then less, so a late task stays cheap.
            self._overdue += 1
            wait = self.advice.min_wait_s * OVERDUE_GROWTH ** (self._overdue - 1)
            return self._spread(self._bounded(wait))
        self._overdue = 0
        if remaining + END_MARGIN_S <= self.advice.max_wait_s:
            return self._stretch(self._bounded(remaining + END_MARGIN_S))
        # Far from the end: step towards it, at most max_wait_s at a time.
        return self._spread(self._bounded(min(self.advice.max_wait_s, remaining * 0.7)))

    def after_failure(self) -> float:
        """The wait after a query that failed transiently."""
        return self._spread(self._bounded(self.interval))

    def rate(self) -> float | None:
        """Progress points per second: between the first and the latest rise seen while
        processing, else since creation (which counts any time queued); None before that."""
        for start in (self._first, self._origin):
            if start is not None and self._last is not None:
                (t0, p0), (t1, p1) = start, self._last
                if t1 > t0 and p1 > p0:
                    return (p1 - p0) / (t1 - t0)
        return None

    def _observe(self, task: Task, now: float) -> None:
        if task.status != "processing" or task.progress <= 0:
            return
        sample = (now, min(100, task.progress))
        if self._first is None:
            self._first = sample
        # Only a rise is news: a task stuck at a percentage goes on counting towards its end.
        if self._last is None or sample[1] > self._last[1]:
            self._last = sample

    def _remaining(self, now: float) -> float | None:
        """Seconds until the expected end: from the progress rate, else from the estimate."""
        rate = self.rate()
        if rate is not None and self._last is not None:
            t1, p1 = self._last
            # A reported percentage is rounded down: on average half a point more was done.
            return (LAST_STEP - p1 - 0.5) / rate - (now - t1)
        if self.estimate is not None and self.fresh:
            return self.started + self.estimate - now
        return None

    def _bounded(self, seconds: float) -> float:
        return min(self.advice.max_wait_s, max(self.advice.min_wait_s, seconds))

    def _spread(self, seconds: float) -> float:
        """+-jitter around the wait, never below the minimum wait."""
        factor = 1.0 + self.advice.jitter * (2.0 * self.rng() - 1.0)
        return max(self.advice.min_wait_s, seconds * factor)

    def _stretch(self, seconds: float) -> float:
        """Up to +jitter (at most END_SPREAD_S) on a wait aimed at the expected end, so it
        never comes early and comes little late."""
        return seconds + min(END_SPREAD_S, seconds * self.advice.jitter) * self.rng()
