"""Where the API key and base URL come from, and a holder that keeps the key out of every repr."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import MissingAPIKeyError

DEFAULT_BASE_URL = "https://api.evolink.ai"
KEY_VARIABLES = ("OMNI_API_KEY", "EVOLINK_API_KEY")
BASE_URL_VARIABLE = "OMNI_BASE_URL"


class Secret:
    """An API key that prints as a mask, so it cannot leak through a repr, log or traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('••••')"

    __str__ = __repr__

    def __reduce__(self) -> str:
        raise TypeError("an API key is not picklable")


@dataclass(frozen=True)
class Settings:
    """The effective key, base URL and where each came from."""

    api_key: Secret | None
    key_source: str
    base_url: str
    base_url_source: str

    def require_key(self) -> Secret:
        if self.api_key is None:
            raise MissingAPIKeyError()
        return self.api_key


def resolve(api_key: str | None = None, base_url: str | None = None) -> Settings:
    """Apply the precedence: argument, then OMNI_*, then EVOLINK_API_KEY, then the default."""
    key, key_source = None, "none"
    if api_key:
        key, key_source = api_key, "argument"
    else:
        for name in KEY_VARIABLES:
            if os.environ.get(name, "").strip():
                key, key_source = os.environ[name].strip(), name
                break
    if base_url:
        url, url_source = base_url, "argument"
    elif os.environ.get(BASE_URL_VARIABLE, "").strip():
        url, url_source = os.environ[BASE_URL_VARIABLE].strip(), BASE_URL_VARIABLE
    else:
        url, url_source = DEFAULT_BASE_URL, "default"
    return Settings(Secret(key) if key else None, key_source, url.rstrip("/"), url_source)
