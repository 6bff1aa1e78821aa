"""The async client's worker threads: one for the ledger, a few for files, started ahead of use.

Anything that blocks (a ledger transaction, a ``fsync``, waiting for a download's writer) runs off
the event loop. asyncio's default executor would do, but it starts its threads on the loop at
first use, and starting a thread blocks the caller until the new thread holds the GIL: 5-15 ms
each on a busy machine, in the first second of a large run (issue 14). Its six threads also
contended for the ledger's one connection. So the ledger gets one thread of its own (its writes
run in order, never waiting on each other's lock), downloads get :data:`FILE_THREADS`, and
:func:`prestart` starts every thread from a helper thread when a client is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from .scheduler import DOWNLOAD_SLOTS

T = TypeVar("T")

#: Threads that write downloads' chunks as they arrive (hashing and writing in blocks).
WRITER_THREADS = 4
#: Threads for a download's blocking steps (waiting for its writer, ``fsync``, renames):
#: one per download slot, so a download never waits for another's ``fsync``.
FILE_THREADS = DOWNLOAD_SLOTS

#: Each pool's name (its threads are "omni-<name>_N") and size.
_SIZES = {"ledger": 1, "download": WRITER_THREADS, "files": FILE_THREADS}

_lock = threading.Lock()
_pools: dict[str, ThreadPoolExecutor] = {}
_started = False


def _pool(name: str) -> ThreadPoolExecutor:
    with _lock:
        pool = _pools.get(name)
        if pool is None:
            pool = ThreadPoolExecutor(_SIZES[name], thread_name_prefix=f"omni-{name}")
            _pools[name] = pool
        return pool


def ledger() -> ThreadPoolExecutor:
    """The one thread that writes the task ledger, in the order the writes are asked for."""
    return _pool("ledger")


def writers() -> ThreadPoolExecutor:
    """The threads that hash and write every download's chunks."""
    return _pool("download")


def files() -> ThreadPoolExecutor:
    """The threads for downloads' blocking steps."""
    return _pool("files")


async def run_on(pool: ThreadPoolExecutor, work: Callable[[], T]) -> T:
    """Run ``work`` on one of ``pool``'s threads and wait for it without blocking the loop."""
    return await finished(pool.submit(work))


async def finished(job: Future[T]) -> T:
    """Wait for a job handed to a pool. A cancelled caller only stops waiting: the job still
    runs to its end (a ledger row or a rename left half-done helps no one), where cancelling
    an asyncio-wrapped future would drop a job not yet started."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T] = loop.create_future()

    def tell(_: Future[T]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(_copy, job, waiter)

    job.add_done_callback(tell)
    return await waiter


def _copy(job: Future[T], waiter: asyncio.Future[T]) -> None:
    if waiter.done():
        return
    if job.cancelled():
        waiter.cancel()
    elif (exc := job.exception()) is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(job.result())


def prestart() -> None:
    """Start every worker thread now, from a helper thread (once per process), so the event loop
    never waits for a thread to start."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_start_all, name="omni-prestart", daemon=True).start()


def _start_all() -> None:
    for name, threads in _SIZES.items():
        pool = _pool(name)
        # A pool starts a thread per job while none is idle: jobs that wait for each other
        # keep every thread busy until all of them are running.
        gate = threading.Barrier(threads)
        try:
            for _ in range(threads):
                pool.submit(gate.wait, 10.0)
        except RuntimeError:  # the interpreter is shutting down
            return


def _forget() -> None:
    """In a forked child: the pools' threads did not come along, so start afresh."""
    global _lock, _started
    _lock, _started = threading.Lock(), False
    _pools.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)
