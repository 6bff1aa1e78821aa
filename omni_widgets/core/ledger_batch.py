"""Task states waiting for the ledger, written by the ledger's thread, many to a transaction.

An async client watching a thousand tasks sees several changes a second; a commit on the event
loop for each would stall the notebook. So the client queues each task's latest state here and a
single writer task commits whatever has gathered in one transaction on the ledger's thread, while
the next batch gathers. :meth:`TaskWrites.settled` waits until every state queued so far is written:
the client awaits it before a call returns, so the ledger is up to date when ``wait()`` is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

from . import workers
from .task import Task

Commit = Callable[[list[Task]], None]


class TaskWrites:
    """The latest unwritten state of each task, and the one writer committing them."""

    def __init__(self, commit: Commit) -> None:
        self._commit = commit
        self._waiting: dict[str, Task] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: asyncio.Task[None] | None = None
        self._gathering: asyncio.Future[None] | None = None  # done when _waiting is written
        self._writing: asyncio.Future[None] | None = None  # done when the batch in flight is

    @property
    def pending(self) -> int:
        """How many task states wait to be written (not counting a batch being written)."""
        return len(self._waiting)

    def put(self, task: Task) -> None:
        """Queue ``task``'s state (replacing an earlier unwritten one of the same task)."""
        loop = self._bind()
        self._waiting[task.id] = task
        if self._gathering is None:
            self._gathering = loop.create_future()
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write(), name="omni-ledger-writes")

    async def settled(self) -> None:
        """Wait until every state queued before this call is written."""
        if self._loop is not asyncio.get_running_loop():
            return
        for done in (self._gathering, self._writing):
            if done is not None:
                await asyncio.shield(done)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = list(self._waiting.values()), {}
            self._writing, self._gathering = self._gathering, None
            try:
                await workers.run_on(workers.ledger(), partial(self._commit, batch))
            finally:
                done, self._writing = self._writing, None
                if done is not None and not done.done():
                    done.set_result(None)

    def _bind(self) -> asyncio.AbstractEventLoop:
        """The running loop. On a new one (a second ``asyncio.run``) the earlier loop's writer is
        gone: what it left waiting goes with this loop's first batch, after (on the one ledger
        thread) any batch it had handed over."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._writer, self._gathering, self._writing = loop, None, None, None
        return loop
