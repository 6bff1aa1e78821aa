"""Bearer-key parsing and the special keys that provoke 401, 402 and 403; which other keys are
accepted is the guard's decision (`_guard.py`).
"""

from __future__ import annotations

import hashlib

DEMO_KEY = "sk-sandbox-demo"
"""A key for the in-process sandbox, which accepts any non-empty key; kept for compatibility (a
sandbox's own key, `Sandbox.api_key`, is random)."""

SPECIAL_KEYS: dict[str, int] = {
    "sk-sandbox-401": 401,
    "sk-sandbox-402": 402,
    "sk-sandbox-403": 403,
}
"""Keys that always get this HTTP status (on create and on query), for exercising error handling."""


def bearer_key(authorization: str | None) -> str | None:
    """The key from an `Authorization: Bearer <key>` header, or None when absent or malformed."""
    if not authorization:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return None
    return key


def special_status(key: str) -> int | None:
    """The status a special key provokes, or None for an ordinary key."""
    return SPECIAL_KEYS.get(key)


def owner_of(key: str) -> str:
    """A stable fingerprint of a key, so tasks remember their owner without storing the key."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]
