"""Callback delivery: POST the task-query body to `callback_url` once the task completes or fails.

Follows the vendor's schedule: 10 s timeout, up to 3 retries 1, 2 and 4 s after each failure, any
non-2xx counting as a failure. Each delivery is an asyncio task on the server's loop that sleeps
until the task's planned end, since task state is otherwise only computed when asked.

A callback host is judged by the addresses its name resolves to, not only by how it is spelled:
at create (a name resolving to a loopback, private, link-local or reserved address is refused) and
again at delivery, which then connects to the very address it checked, so a name rebound in
between cannot redirect the POST to the user's own network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._log import CallbackAttempt, Recorder
from ._validate import RequestError, host_kind

if TYPE_CHECKING:
    import httpx

VENDOR_RETRY_DELAYS = (1.0, 2.0, 4.0)
TIMEOUT = 10.0
RESOLVE_TIMEOUT = 5.0
_log = logging.getLogger("omni_widgets.sandbox")


class CallbackDispatcher:
    """Schedules and performs callback deliveries; lives on the server's event loop."""

    def __init__(
        self,
        recorder: Recorder,
        retry_delays: Sequence[float] = VENDOR_RETRY_DELAYS,
        timeout: float = TIMEOUT,
        *,
        allow_loopback: bool = False,
    ) -> None:
        self._recorder = recorder
        self._allow_loopback = allow_loopback
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
                address = await checked_address(url, self._allow_loopback)
            except RequestError as exc:
                error = f"refused: {exc.message}"
                self._recorder.callback(
                    CallbackAttempt(task_id, url, attempt, None, error, payload)
                )
                _log.warning("callback for %s refused: %s", task_id, exc.message)
                return
            try:
                response = await self._client.send(_pinned(self._client, url, address, payload))
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


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to; empty when it does not resolve (in time)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


async def checked_address(url: str, allow_loopback: bool) -> str | None:
    """The first address the URL's host resolves to, after checking every one of them.

    RequestError when any is loopback (unless allowed), private, link-local or reserved, or when
    the URL is plain http without resolving to loopback only; None when the name does not
    resolve (the delivery then fails as it would at the vendor).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    addresses = await resolve(host, port)
    for address in addresses:
        kind = host_kind(address)
        if kind is None or (kind == "loopback" and allow_loopback):
            continue
        raise RequestError(
            "callback_url must not point to a loopback, private, link-local or reserved "
            f"address, got host {host[:80]!r}, which resolves to {address}",
            "callback_url",
        )
    plain = parts.scheme.lower() != "https"
    if plain and not (addresses and all(host_kind(a) == "loopback" for a in addresses)):
        raise RequestError(
            f"callback_url must use https, got {parts.scheme[:20] + '://'!r}", "callback_url"
        )
    return addresses[0] if addresses else None


async def check_callback_host(url: str, allow_loopback: bool) -> None:
    """Refuse (RequestError) a callback URL whose host resolves to an internal address."""
    await checked_address(url, allow_loopback)


def _pinned(
    client: httpx.AsyncClient, url: str, address: str | None, payload: dict[str, Any]
) -> httpx.Request:
    """A POST to `url` that connects to `address` while naming the original host (Host, TLS SNI)."""
    original = client.build_request("POST", url, json=payload)
    if address is None:
        return original
    host = original.url.host
    request = client.build_request(
        "POST",
        original.url.copy_with(host=address.partition("%")[0]),
        json=payload,
        headers={"Host": original.headers["host"]},
        extensions={"sni_hostname": host},
    )
    return request
