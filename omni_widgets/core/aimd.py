"""How many grid rows may run at once: halved on a 429, raised by one row per window of successes.

Additive increase, multiplicative decrease (as TCP does): a rate limit halves the limit at once,
and each successful create adds ``1 / limit``, so the limit climbs back by one row only after a
whole window of creates went through, never above the concurrency asked for. A burst of 429s
from rows sent together halves the limit once, not once per row.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType


class Aimd:
    """The limit itself (no I/O); the gates below wait on it."""

    def __init__(self, ceiling: int, floor: int = 1) -> None:
        self.ceiling = ceiling
        self.floor = min(floor, ceiling)
        self._limit = float(ceiling)
        self._cut_since_success = False
        #: Every change of the whole limit, in order, starting with the ceiling.
        self.history: list[int] = [ceiling]

    @property
    def limit(self) -> int:
        """Rows allowed to run at once now."""
        return max(self.floor, int(self._limit))

    def rate_limited(self) -> None:
        """A 429: halve the limit, unless it was halved since the last success."""
        if self._cut_since_success:
            return
        self._cut_since_success = True
        self._set(max(float(self.floor), float(self.limit // 2)))

    def succeeded(self) -> None:
        """A create went through: creep back up towards the ceiling."""
        self._cut_since_success = False
        self._set(min(float(self.ceiling), self._limit + 1.0 / max(self._limit, 1.0)))

    def _set(self, value: float) -> None:
        before = self.limit
        self._limit = value
        if self.limit != before:
            self.history.append(self.limit)


class AsyncGate:
    """``async with gate:`` holds one of the limit's places on an event loop."""

    def __init__(self, aimd: Aimd) -> None:
        self.aimd = aimd
        self.running = 0
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.running < self.aimd.limit)
            self.running += 1

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        async with self._changed:
            self.running -= 1
            self._changed.notify_all()


class ThreadGate:
    """``with gate:`` holds one of the limit's places across threads."""

    def __init__(self, aimd: Aimd) -> None:
        self.aimd = aimd
        self.running = 0
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.running < self.aimd.limit)
            self.running += 1

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._changed:
            self.running -= 1
            self._changed.notify_all()
