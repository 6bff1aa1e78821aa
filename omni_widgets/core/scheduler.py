"""One timer queue and one request gate per async client, for every task it watches.

Thousands of watched tasks must not each hold a timer and race into httpx's connection pool:
with about a thousand requests queued there, httpcore re-scans every waiter on each change and
the event loop stalls for seconds. So every wait of the client goes into one heap behind one
loop timer, and every request first takes one of a few slots (well below the pool's size), in
the order the requests became due. The number of slots follows the service's latency: enough to
keep :data:`TARGET_RATE` requests a second going, and no more, because the answers to many
requests in flight at a fast service arrive together, and the loop turn that handles them all
is a stall the notebook feels. A 429 pauses the whole queue (its Retry-After, globally), not
just the task that met it.

:class:`Queue` is the decision logic, pure and driven by explicit times (unit-tested with a fake
clock); :class:`Scheduler` runs it on asyncio. Where a gateway can report many tasks in one
request, :data:`BatchQuery` is the hook for it (no gateway here has one yet).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .task import Task

W = TypeVar("W")
# Pool of 100 connections in httpx: stay well below, so no request ever waits there.
MAX_IN_FLIGHT = 32
#: Slots while the latency is unknown or short: 8 requests of 40 ms already make 200 a second.
MIN_IN_FLIGHT = 8
#: Requests a second the slots are sized for (Little's law: slots = rate x latency); a thousand
#: watched tasks need a few dozen.
TARGET_RATE = 200.0
#: Video downloads at once per client (a gate of their own, beside the slots above).
DOWNLOAD_SLOTS = 8
#: Weight of the newest request in the latency average.
LATENCY_WEIGHT = 0.2
RATE_LIMIT_PAUSE_S = 1.0
CLOCK_SLACK_S = 0.001
# Waiters resumed per loop turn: each runs until its next await, and the loop (the notebook)
# gets a turn in between, so a thousand tasks due together never freeze it.
TURN_BUDGET = 16
BatchQuery = Callable[[Sequence[str]], Awaitable[list[Task]]]


@dataclass
class Step(Generic[W]):
    """What the queue decided at one moment: who wakes, who may send, when to look again."""

    woken: list[W]
    granted: list[W]
    wake_at: float | None
    more: bool = False  # due waiters were left for the next step (the budget ran out)


@dataclass
class Queue(Generic[W]):
    """Sleepers ordered by due time, senders in the order they became ready, and the slots.

    ``alive(w)`` tells whether a waiter still wants its turn (a cancelled one is skipped).
    """

    limit: int = MAX_IN_FLIGHT
    in_flight: int = 0
    paused_until: float = float("-inf")
    _timers: list[tuple[float, int, W]] = field(default_factory=list)
    _ready: deque[W] = field(default_factory=deque)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"limit: {self.limit} is not a positive number of requests")

    def sleep(self, now: float, seconds: float, waiter: W) -> None:
        """Wake ``waiter`` once ``seconds`` have passed."""
        heapq.heappush(self._timers, (now + max(0.0, seconds), next(self._seq), waiter))

    def want_slot(self, waiter: W) -> None:
        """Queue ``waiter`` for a request slot."""
        self._ready.append(waiter)

    def release(self) -> None:
        """A request ended: its slot is free."""
        self.in_flight -= 1

    def pause(self, now: float, seconds: float) -> None:
        """Grant no slot for ``seconds`` (a 429: the service wants everyone to slow down)."""
        self.paused_until = max(self.paused_until, now + seconds)

    def quiet(self, now: float) -> bool:
        """Nobody waits for a slot and no sleeper is due: a newcomer would be served alone."""
        return not self._ready and not (self._timers and self._timers[0][0] <= now)

    def take_slot(self, now: float) -> bool:
        """Take a free slot at once if :meth:`step` would grant it first (quiet, not paused)."""
        if self.in_flight < self.limit and now >= self.paused_until and self.quiet(now):
            self.in_flight += 1
            return True
        return False

    @property
    def sleeping(self) -> int:
        return len(self._timers)

    @property
    def waiting(self) -> int:
        return len(self._ready)

    def step(
        self,
        now: float,
        alive: Callable[[W], bool] = lambda _: True,
        budget: int | None = None,
    ) -> Step[W]:
        """Grant free slots in order and wake the sleepers that are due (at most ``budget`` of
        both together), and say when to step again (None: nothing is pending on time)."""
        left = float("inf") if budget is None else budget
        granted: list[W] = []
        if now >= self.paused_until:
            while self._ready and self.in_flight < self.limit and left > 0:
                waiter = self._ready.popleft()
                if alive(waiter):
                    self.in_flight += 1
                    granted.append(waiter)
                    left -= 1
        woken: list[W] = []
        while self._timers and self._timers[0][0] <= now and left > 0:
            waiter = heapq.heappop(self._timers)[2]
            if alive(waiter):
                woken.append(waiter)
                left -= 1
        more = bool(self._timers and self._timers[0][0] <= now) or bool(
            self._ready and self.in_flight < self.limit and now >= self.paused_until
        )
        wake_at = self._timers[0][0] if self._timers else None
        if self._ready and self.in_flight < self.limit and now < self.paused_until:
            wake_at = self.paused_until if wake_at is None else min(wake_at, self.paused_until)
        return Step(woken, granted, wake_at, more)


class SlotCancelled(asyncio.CancelledError):
    """A cancel that came while waiting for a request slot: the request was never sent."""


class Scheduler:
    """The asyncio driver of a :class:`Queue`: one loop timer, futures for waiters.

    ``limit`` fixes the number of request slots; without it they follow the latency between
    :data:`MIN_IN_FLIGHT` and :data:`MAX_IN_FLIGHT`. Bound to the event loop that first uses
    it; used from another loop (a second ``asyncio.run``), it starts afresh there.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.fixed = limit
        self.latency: float | None = None  # average seconds a slot is held
        self._queue: Queue[asyncio.Future[None]] = Queue(limit or MIN_IN_FLIGHT)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._spent = 0
        self._resetting = False

    @property
    def queue(self) -> Queue[asyncio.Future[None]]:
        return self._queue

    @property
    def limit(self) -> int:
        """Request slots now."""
        return self._queue.limit

    async def turn(self) -> None:
        """Wait for this loop turn's share of work: starts of many jobs are spread over turns."""
        await self.sleep(0.0)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the client's single timer queue."""
        loop = self._bind()
        at_once = seconds <= 0 and self._spent < TURN_BUDGET
        if at_once and self._queue.quiet(loop.time() + CLOCK_SLACK_S):
            self._served(loop)  # what queueing would do, without the round trip
            return
        future: asyncio.Future[None] = loop.create_future()
        self._queue.sleep(loop.time(), seconds, future)
        self._kick()
        await future

    def slot(self) -> AbstractAsyncContextManager[None]:
        """Hold one of the request slots for the duration of a request."""
        return _Slot(self)

    async def acquire(self) -> None:
        """Take one of the request slots (give it back with :meth:`release`)."""
        loop = self._bind()
        if self._spent < TURN_BUDGET and self._queue.take_slot(loop.time() + CLOCK_SLACK_S):
            self._served(loop)
            return
        future: asyncio.Future[None] = loop.create_future()
        self._queue.want_slot(future)
        self._kick()
        try:
            await future
        except asyncio.CancelledError as exc:
            if future.done() and not future.cancelled():
                self.release()  # granted just as it was cancelled
            raise SlotCancelled(*exc.args) from None

    def release(self, held: float | None = None) -> None:
        """Give back a slot taken with :meth:`acquire`, held for ``held`` seconds if known."""
        self._queue.release()
        if held is not None and self.fixed is None:
            average = held if self.latency is None else self.latency
            self.latency = average + LATENCY_WEIGHT * (held - average)
            slots = math.ceil(TARGET_RATE * self.latency)
            self._queue.limit = max(MIN_IN_FLIGHT, min(MAX_IN_FLIGHT, slots))
        loop = self._loop
        if loop is not None and not self._queue.quiet(loop.time() + CLOCK_SLACK_S):
            self._kick()  # someone waits for the slot, or a sleeper is due

    def rate_limited(self, seconds: float | None) -> None:
        """A 429 came back: hold every request of this client for ``seconds`` (or a second)."""
        loop = self._bind()
        self._queue.pause(loop.time(), RATE_LIMIT_PAUSE_S if seconds is None else seconds)
        self._kick()

    def _served(self, loop: asyncio.AbstractEventLoop) -> None:
        """Count one waiter served at once against the turn's budget.

        The count is renewed by a callback in a later turn, asked for once half the budget is
        used rather than for every waiter: lone requests then cost no extra callback each, and
        never find the budget spent. A count carried over can only make a turn serve fewer.
        """
        self._spent += 1
        if self._spent >= TURN_BUDGET // 2 and not self._resetting:
            self._resetting = True
            loop.call_soon(self._new_turn)

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._queue = loop, Queue(self.fixed or MIN_IN_FLIGHT)
            self.latency = None
            self._timer = self._timer_at = None
            self._spent, self._resetting = 0, False
        return loop

    def _kick(self) -> None:
        loop = self._loop
        assert loop is not None
        budget = max(0, TURN_BUDGET - self._spent)
        # A loop timer may fire a hair before its time: count that as due.
        step = self._queue.step(loop.time() + CLOCK_SLACK_S, _pending, budget)
        for future in step.woken:
            future.set_result(None)
        for future in step.granted:
            future.set_result(None)
        self._spent += len(step.woken) + len(step.granted)
        if (self._spent or step.more) and not self._resetting:
            # Callbacks scheduled now run in the next loop turn: the budget is renewed there.
            self._resetting = True
            loop.call_soon(self._new_turn)
        if step.wake_at != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None if step.wake_at is None else loop.call_at(step.wake_at, self._fire)
            self._timer_at = step.wake_at

    def _new_turn(self) -> None:
        self._spent, self._resetting = 0, False
        loop = self._loop
        if loop is not None and not self._queue.quiet(loop.time() + CLOCK_SLACK_S):
            self._kick()  # work was left for this turn

    def _fire(self) -> None:
        self._timer = self._timer_at = None
        self._kick()


class _Slot:
    """``async with scheduler.slot():`` holds a request slot (a class: cheaper per request than
    a generator-based context manager)."""

    __slots__ = ("_scheduler", "_since")

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._since = 0.0

    async def __aenter__(self) -> None:
        await self._scheduler.acquire()
        self._since = time.monotonic()

    async def __aexit__(self, *exc: object) -> None:
        self._scheduler.release(time.monotonic() - self._since)


def _pending(future: asyncio.Future[None]) -> bool:
    return not future.done()
