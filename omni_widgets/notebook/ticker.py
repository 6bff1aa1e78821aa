"""One shared ticker that refreshes running jobs' elapsed time, a slice of them at a time.

A ticker task per job, each re-rendering its card every second, makes a thousand cards wake in
step: the loop stalls and garbage piles up. This one ticker visits a twentieth of the running
jobs every 50 ms, at most ten at a time, so each job hears once a second (less often beyond 200
running jobs) and no wake-up does much work. It also tells :mod:`quiet_gc` how many jobs run,
so a large run is spared long full collections.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from .quiet_gc import QuietGC

logger = logging.getLogger("omni_widgets")

TICK_S = 1.0
SLICES = 20
#: Members ticked per wake-up at most: a tick redraws a card line (about 0.4 ms here), so beyond
#: SLICES * PER_STEP = 200 running jobs each hears less often (every 5 s with 1,000) instead of
#: each wake-up doing more.
PER_STEP = 10
#: One per process, as the collector is: full collections skip a large run's older objects.
QUIET_GC = QuietGC()


class Ticking(Protocol):
    @property
    def running(self) -> bool: ...

    def tick(self) -> None: ...


class Ticker:
    """Calls ``tick()`` on every registered object about once a second while it runs."""

    def __init__(self) -> None:
        # Each member keeps its slice: a member leaving never makes another skip a round.
        self._slices: list[dict[int, Ticking]] = [{} for _ in range(SLICES)]
        self._added = 0
        self._next = 0
        self._rest: list[tuple[int, Ticking]] | None = None  # what the current slice has left
        self._task: asyncio.Task[None] | None = None

    def add(self, member: Ticking) -> None:
        """Tick ``member`` from now until it stops running (starts the ticker if needed)."""
        if any(id(member) in part for part in self._slices):
            return
        self._slices[self._added % SLICES][id(member)] = member
        self._added += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="omni-ticker")

    def discard(self, member: Ticking) -> None:
        for part in self._slices:
            part.pop(id(member), None)

    def __len__(self) -> int:
        return sum(len(part) for part in self._slices)

    def tick_slice(self) -> int:
        """Tick the next slice of members (at most :data:`PER_STEP` of it per call: a large
        slice takes several calls); drop those that stopped. Returns how many ticked."""
        part = self._slices[self._next]
        if self._rest is None:
            self._rest = list(part.items())
        batch, self._rest = self._rest[:PER_STEP], self._rest[PER_STEP:]
        if not self._rest:
            self._rest = None
            self._next = (self._next + 1) % SLICES
        ticked = 0
        for key, member in batch:
            if key not in part:
                continue  # discarded meanwhile
            if not member.running:
                del part[key]
                continue
            try:
                member.tick()
            except Exception:
                logger.exception("a ticking job failed")
            ticked += 1
        return ticked

    async def _run(self) -> None:
        try:
            while running := len(self):
                QUIET_GC.running(running)
                await asyncio.sleep(TICK_S / SLICES)
                self.tick_slice()
        finally:
            QUIET_GC.end()


_TICKERS: dict[asyncio.AbstractEventLoop, Ticker] = {}


def ticker() -> Ticker:
    """The running loop's shared ticker."""
    loop = asyncio.get_running_loop()
    for other in [known for known in _TICKERS if known.is_closed()]:
        del _TICKERS[other]
    if loop not in _TICKERS:
        _TICKERS[loop] = Ticker()
    return _TICKERS[loop]
