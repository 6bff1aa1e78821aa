"""The requests a client sends to its service, with their fixed parts made once per client.

A status query goes out every few seconds for every watched task. ``httpx.Client.get`` parses
the URL string, normalizes and merges the headers, prepares the body and attaches the timeout for
each one; here the headers are normalized once, each path's URL is parsed once and kept, and the
timeout goes in as httpx would attach it, so building a query costs a few microseconds. The
requests are ordinary ``httpx.Request`` objects sent through the client's transport as usual.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx

# Parsed query URLs kept per client: enough for the thousands of tasks one kernel watches, at
# about half a kilobyte each.
URL_CACHE = 16_384
# Methods httpx gives a Content-Length even without a body.
_SIZED = frozenset({"POST", "PUT", "PATCH"})


class Endpoint:
    """Builds requests to one base URL carrying one set of headers (the key among them).

    ``timeout`` is the one the requests' ``httpx`` client was made with.
    """

    def __init__(
        self, base_url: str, headers: dict[str, str], timeout: float | httpx.Timeout
    ) -> None:
        self.base_url = base_url
        host = httpx.URL(base_url).netloc
        # Host first, as httpx's per-request preparation would add it: with it here, a request
        # without a body (a GET: no Content-Length either) needs none of that preparation.
        self._headers = httpx.Headers([(b"Host", host), *httpx.Headers(headers).raw])
        self._url = functools.lru_cache(maxsize=URL_CACHE)(self._parse)
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}

    def request(self, method: str, path: str, **body: Any) -> httpx.Request:
        """``method`` on ``base_url + path``; ``body`` takes httpx's ``json=``/``content=``."""
        url, headers, extensions = self._url(path), self._headers, self._extensions
        if body or method in _SIZED:
            request = httpx.Request(method, url, headers=headers, extensions=extensions, **body)
        else:
            empty = httpx.ByteStream(b"")
            request = httpx.Request(
                method, url, headers=headers, extensions=extensions, stream=empty
            )
            request.read()
        # httpx took the headers only as ASCII: said here, it need not work that out again at
        # every lookup (the key's redaction in each answer makes one).
        request.headers.encoding = "ascii"
        return request

    def _parse(self, path: str) -> httpx.URL:
        return httpx.URL(self.base_url + path)

    def __repr__(self) -> str:
        return f"Endpoint({self.base_url!r})"
