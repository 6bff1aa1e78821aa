"""The httpx clients' shared TLS context, built once and off the event loop (with the imports of
a first request).

Building an SSL context (loading the CA bundle) takes 35-40 ms: done on the kernel's event loop
for every client, it freezes the notebook. So one context is built in a worker thread, once per
process, and every client of this package shares it.
"""

from __future__ import annotations

import contextlib
import importlib
import ssl
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import httpx

from .scheduler import DOWNLOAD_SLOTS, MAX_IN_FLIGHT

# The pool is larger than the scheduler's request and download slots, so no request waits in it.
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=MAX_IN_FLIGHT + DOWNLOAD_SLOTS)

_lock = threading.Lock()
_context: Future[ssl.SSLContext] | None = None
_builder: ThreadPoolExecutor | None = None


def tls_context() -> Future[ssl.SSLContext]:
    """The shared TLS context, being built in a worker thread on first call."""
    global _context, _builder
    with _lock:
        if _context is None:
            _builder = ThreadPoolExecutor(1, thread_name_prefix="omni-tls")
            _context = _builder.submit(_prepare)
            _builder.shutdown(wait=False)
        return _context


#: What httpx's async transport imports at its first request (anyio and its asyncio backend).
TRANSPORT_MODULES = ("anyio", "anyio._backends._asyncio", "anyio.streams.tls")


def _prepare() -> ssl.SSLContext:
    """Build the TLS context, and import what the first request would import: 30-50 ms that
    would otherwise freeze the event loop once a client sends its first request."""
    for name in TRANSPORT_MODULES:
        with contextlib.suppress(ImportError):  # a later anyio may arrange its modules otherwise
            importlib.import_module(name)
    return httpx.create_ssl_context()
