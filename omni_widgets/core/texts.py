"""Checks on user-given strings and URLs, each linear in the length of the text.

Every function returns what is wrong in words (or None), so that a request can say
"FIELD: what is wrong; allowed: ..." for any value, however strange.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import SplitResult, urlsplit

MAX_URL_CHARS = 8192  # longer URLs are refused by most web servers (and by browsers' address bars)

# One character class each: a regex search over a class is a single linear scan.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACE = re.compile(r"\s")


def type_name(value: Any) -> str:
    """``'an int'``, ``'a list'``: how a value's type is named in a message."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def text_problem(text: str) -> str | None:
    """Characters no service can take as text: lone surrogates and control characters.

    Tabs and line breaks are allowed; a lone surrogate cannot even be encoded as UTF-8.
    """
    surrogate = _SURROGATE.search(text)
    if surrogate:
        return (
            f"contains a lone surrogate U+{ord(surrogate.group()):04X} at position "
            f"{surrogate.start()}, which is not valid Unicode text"
        )
    control = _CONTROL.search(text)
    if control:
        return (
            f"contains the control character U+{ord(control.group()):04X} at position "
            f"{control.start()}"
        )
    return None


def url_problem(url: Any, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """What keeps ``url`` from being an absolute URL of one of ``schemes`` with a host."""
    parts, problem = split_url(url)
    if parts is None:
        return problem
    if parts.scheme.lower() not in schemes:
        names = " or ".join(f"{s}://" for s in schemes)
        return f"{_quoted(url)} does not start with {names}"
    if not parts.hostname:
        return f"{_quoted(url)} has no host name"
    return None


def split_url(url: Any) -> tuple[SplitResult | None, str | None]:
    """The URL's parts, or None and what is wrong (not text, too long, spaces, bad brackets)."""
    if not isinstance(url, str):
        return None, f"{type_name(url)} is not a URL"
    if not url:
        return None, "empty"
    if len(url) > MAX_URL_CHARS:
        return None, f"{len(url)} characters is longer than {MAX_URL_CHARS}"
    problem = text_problem(url)
    if problem:
        return None, problem
    space = _SPACE.search(url)
    if space:
        return None, f"{_quoted(url)} contains a space or line break at position {space.start()}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not 0..65535)
    except ValueError as exc:
        return None, f"{_quoted(url)} is not a valid URL ({exc})"
    return parts, None


def is_http_url(value: Any) -> bool:
    """True for an absolute http(s) URL with a host (surrounding whitespace ignored)."""
    return isinstance(value, str) and url_problem(value.strip()) is None


def host_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a URL's host spells literally (IPv6 with a zone too), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _quoted(url: str, limit: int = 60) -> str:
    return repr(url if len(url) <= limit else url[: limit - 3] + "...")
