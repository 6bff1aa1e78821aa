"""Which service a notebook talks to: the real one when a key is set, else the shared local
sandbox process."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..core.client import AsyncOmniClient, OmniClient
from ..core.gateway import DEFAULT_GATEWAY, Gateway, get_gateway
from ..core.settings import settings_for

if TYPE_CHECKING:
    from ..sandbox import SharedSandbox

_lock = threading.Lock()
_sandbox: SharedSandbox | None = None
_sandboxes: dict[str, SharedSandbox] = {}  # other gateways' dialects, by gateway name


@dataclass
class Connection:
    """The settings a notebook front end uses, with one sync and one async client made from them."""

    api_key: str = field(repr=False)
    base_url: str
    sandbox: bool
    key_source: str
    #: Used only when a task gives nothing better: its clients' schedulers pace the queries
    #: from the service's estimate and the progress seen, for a local sandbox too.
    poll_interval: float = 3.0
    gateway: str = DEFAULT_GATEWAY
    _async: AsyncOmniClient | None = field(default=None, repr=False)
    _sync: OmniClient | None = field(default=None, repr=False)

    @property
    def client(self) -> AsyncOmniClient:
        """The async client, for work scheduled on the kernel's event loop."""
        if self._async is None:
            self._async = AsyncOmniClient(
                self.api_key, self.base_url, poll_interval=self.poll_interval, gateway=self.gateway
            )
        return self._async

    @property
    def sync_client(self) -> OmniClient:
        """The blocking client, for waits done as plain loops (interruptible)."""
        if self._sync is None:
            self._sync = OmniClient(
                self.api_key, self.base_url, poll_interval=self.poll_interval, gateway=self.gateway
            )
        return self._sync


def connect(
    api_key: str | None = None, base_url: str | None = None, gateway: str | Gateway | None = None
) -> Connection:
    """Use the given or configured key of the gateway (None: ``OMNI_GATEWAY`` or EvoLink); with
    none, use the shared local sandbox speaking that gateway's dialect (started if needed)."""
    chosen = get_gateway(gateway)
    settings = settings_for(chosen, api_key, base_url)
    if settings.api_key is not None:
        host = urlsplit(settings.base_url).hostname or ""
        local = host in ("127.0.0.1", "localhost", "::1")
        return Connection(
            settings.api_key.reveal(),
            settings.base_url,
            local,
            settings.key_source,
            chosen.poll_every_s,
            chosen.name,
        )
    sandbox = shared_sandbox(chosen.name)
    return Connection(
        sandbox.api_key, sandbox.base_url, True, "sandbox", chosen.poll_every_s, chosen.name
    )


def shared_sandbox(gateway: str = DEFAULT_GATEWAY) -> SharedSandbox:
    """The user's shared local sandbox process, found or started (detached) on first use.

    One process serves every kernel of the user and keeps its tasks on disk, so a task started
    before a kernel died can be resumed from a new kernel. See `omni_widgets.sandbox.SharedSandbox`.
    """
    from ..sandbox import sandbox_home, start_shared

    global _sandbox
    with _lock:
        if gateway != DEFAULT_GATEWAY:  # one process per dialect
            found = _sandboxes.get(gateway)
            if found is None or found.home != sandbox_home() or not found.alive():
                found = _sandboxes[gateway] = start_shared(gateway=gateway)
            return found
        if _sandbox is None or _sandbox.home != sandbox_home() or not _sandbox.alive():
            _sandbox = start_shared()
        return _sandbox


def running_sandbox() -> SharedSandbox | None:
    """The shared sandbox process if it runs, else None (never starts it)."""
    global _sandbox
    from ..sandbox import find_shared

    with _lock:
        _sandbox = find_shared()
        return _sandbox


def stop_shared_sandbox() -> bool:
    """Stop the shared sandbox process (for every kernel) if it runs; True if it did."""
    global _sandbox
    from ..sandbox import stop_shared

    with _lock:
        _sandbox = None
        _sandboxes.clear()
        return stop_shared()
