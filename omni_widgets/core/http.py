"""The httpx clients' shared TLS context, built once and off the event loop.

Building an SSL context (loading the CA bundle) takes 35-40 ms: done on the kernel's event loop
for every client, it freezes the notebook. So one context is built in a worker thread, once per
process, and every client of this package shares it.
"""

from __future__ import annotations

import ssl
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import httpx

from .scheduler import MAX_IN_FLIGHT

# The pool is larger than the scheduler's request slots, so no request waits in it.
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=MAX_IN_FLIGHT)

_lock = threading.Lock()
_context: Future[ssl.SSLContext] | None = None
_builder: ThreadPoolExecutor | None = None


def tls_context() -> Future[ssl.SSLContext]:
    """The shared TLS context, being built in a worker thread on first call."""
    global _context, _builder
    with _lock:
        if _context is None:
            _builder = ThreadPoolExecutor(1, thread_name_prefix="omni-tls")
            _context = _builder.submit(httpx.create_ssl_context)
            _builder.shutdown(wait=False)
        return _context
