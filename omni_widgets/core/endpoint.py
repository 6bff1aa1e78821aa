"""The requests a client sends to its service, with their fixed parts made once per client.

A status query goes out every few seconds for every watched task. ``httpx.Client.get`` parses the
URL string, normalizes and merges the headers and prepares the body for each one; here the base
headers are normalized once and each path's URL is parsed once and kept, so building a query
costs a few microseconds. The requests are ordinary ``httpx.Request`` objects sent through the
client's transport as usual.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx

# Parsed query URLs kept per client: enough for the thousands of tasks one kernel watches, at
# about half a kilobyte each.
URL_CACHE = 16_384


class Endpoint:
    """Builds requests to one base URL carrying one set of headers (the key among them)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.base_url = base_url
        host = httpx.URL(base_url).netloc
        # The Host header httpx would add itself, first as it would be: a body-less request
        # built here skips httpx's per-request preparation.
        self._headers = httpx.Headers([(b"Host", host), *httpx.Headers(headers).raw])
        self._url = functools.lru_cache(maxsize=URL_CACHE)(self._parse)

    def request(self, method: str, path: str, **body: Any) -> httpx.Request:
        """``method`` on ``base_url + path``; ``body`` takes httpx's ``json=``/``content=``."""
        url = self._url(path)
        if body:
            return httpx.Request(method, url, headers=self._headers, **body)
        request = httpx.Request(method, url, headers=self._headers, stream=httpx.ByteStream(b""))
        request.read()
        return request

    def _parse(self, path: str) -> httpx.URL:
        return httpx.URL(self.base_url + path)

    def __repr__(self) -> str:
        return f"Endpoint({self.base_url!r})"
