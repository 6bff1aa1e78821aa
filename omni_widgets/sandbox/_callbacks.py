"""Callback delivery: POST the task-query body to `callback_url` once the task completes or fails.

Follows the vendor's schedule: 10 s timeout, up to 3 retries 1, 2 and 4 s after each failure, any
non-2xx counting as a failure. Each delivery is an asyncio task on the server's loop that sleeps
until the task's planned end, since task state is otherwise only computed when asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._log import CallbackAttempt, Recorder

if TYPE_CHECKING:
    import httpx

VENDOR_RETRY_DELAYS = (1.0, 2.0, 4.0)
TIMEOUT = 10.0
_log = logging.getLogger("omni_widgets.sandbox")


class CallbackDispatcher:
    """Schedules and performs callback deliveries; lives on the server's event loop."""

    def __init__(
        self,
        recorder: Recorder,
        retry_delays: Sequence[float] = VENDOR_RETRY_DELAYS,
        timeout: float = TIMEOUT,
    ) -> None:
        self._recorder = recorder
        self._delays = tuple(retry_delays)
        self._timeout = timeout
        self._pending: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    def schedule(
        self, task_id: str, url: str, at: float, body: Callable[[], dict[str, Any]]
    ) -> None:
        """Deliver `body()` to `url` at monotonic time `at`; call on the server's loop."""
        job = asyncio.get_running_loop().create_task(self._deliver(task_id, url, at, body))
        self._pending.add(job)  # asyncio keeps only weak references to tasks
        job.add_done_callback(self._pending.discard)

    async def _deliver(
        self, task_id: str, url: str, at: float, body: Callable[[], dict[str, Any]]
    ) -> None:
        import httpx

        await asyncio.sleep(max(0.0, at - time.monotonic()))
        payload = body()
        if self._client is None:
            # trust_env=False: a proxy from the environment must not swallow local callbacks.
            self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        for attempt, pause in enumerate((0.0, *self._delays), start=1):
            await asyncio.sleep(pause)
            status: int | None = None
            error: str | None = None
            try:
                response = await self._client.post(url, json=payload)
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            self._recorder.callback(CallbackAttempt(task_id, url, attempt, status, error, payload))
            if status is not None and 200 <= status < 300:
                return
        _log.warning("callback for %s gave up after %d attempts", task_id, len(self._delays) + 1)

    async def aclose(self) -> None:
        """Cancel deliveries still waiting and close the HTTP client (at server shutdown)."""
        for job in list(self._pending):
            job.cancel()
        for job in list(self._pending):
            with contextlib.suppress(asyncio.CancelledError):
                await job
        if self._client is not None:
            await self._client.aclose()
            self._client = None
