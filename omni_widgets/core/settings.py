"""Where the API key and base URL come from, and a holder that keeps the key out of every repr."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .download import DEFAULT_OUTPUT_DIR
from .errors import MissingAPIKeyError

if TYPE_CHECKING:
    from .gateway import Gateway

DEFAULT_BASE_URL = "https://api.evolink.ai"
KEY_VARIABLE = "OMNI_API_KEY"
KEY_VARIABLES = (KEY_VARIABLE, "EVOLINK_API_KEY")
BASE_URL_VARIABLE = "OMNI_BASE_URL"
LEDGER_VARIABLE = "OMNI_LEDGER"
LEDGER_FILE = "omni-tasks.sqlite3"
LEDGER_OFF = ("0", "off", "false", "no", "none")
LedgerChoice = str | os.PathLike[str] | bool | None


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
    """The effective key, base URL and task ledger file, and where each came from."""

    api_key: Secret | None
    key_source: str
    base_url: str
    base_url_source: str
    ledger: Path | None = None
    ledger_source: str = "off"

    def require_key(self) -> Secret:
        if self.api_key is None:
            raise MissingAPIKeyError()
        return self.api_key


def resolve(
    api_key: str | None = None,
    base_url: str | None = None,
    ledger: LedgerChoice = None,
    *,
    key_variables: tuple[str, ...] = KEY_VARIABLES,
    default_base_url: str = DEFAULT_BASE_URL,
) -> Settings:
    """Apply the precedence: argument, then OMNI_*, then the gateway's own key variable
    (EVOLINK_API_KEY, TOAPIS_API_KEY), then the gateway's default base URL."""
    key, key_source = None, "none"
    if api_key:
        key, key_source = api_key, "argument"
    else:
        for name in key_variables:
            if os.environ.get(name, "").strip():
                key, key_source = os.environ[name].strip(), name
                break
    if base_url:
        url, url_source = base_url, "argument"
    elif os.environ.get(BASE_URL_VARIABLE, "").strip():
        url, url_source = os.environ[BASE_URL_VARIABLE].strip(), BASE_URL_VARIABLE
    else:
        url, url_source = default_base_url, "default"
    ledger_path, ledger_source = resolve_ledger(ledger)
    return Settings(
        Secret(key) if key else None,
        key_source,
        url.rstrip("/"),
        url_source,
        ledger_path,
        ledger_source,
    )


def settings_for(
    gateway: Gateway,
    api_key: str | None = None,
    base_url: str | None = None,
    ledger: LedgerChoice = None,
) -> Settings:
    """:func:`resolve` for one gateway: OMNI_API_KEY, then its own key variable; its base URL."""
    return resolve(
        api_key,
        base_url,
        ledger,
        key_variables=(KEY_VARIABLE, *gateway.key_env),
        default_base_url=gateway.default_base_url,
    )


def resolve_ledger(ledger: LedgerChoice = None) -> tuple[Path | None, str]:
    """The task ledger file (None: no ledger) and where that choice came from.

    Argument (a path, or False for none), then OMNI_LEDGER (a path, or off/0/false/no/none),
    then ``omni_outputs/omni-tasks.sqlite3``. A folder gets the default file name inside it.
    """
    if ledger is False:
        return None, "argument"
    if ledger is not None and ledger is not True:
        return _ledger_file(os.fspath(ledger)), "argument"
    value = os.environ.get(LEDGER_VARIABLE, "").strip()
    if value.lower() in LEDGER_OFF:
        return None, LEDGER_VARIABLE
    if value:
        return _ledger_file(value), LEDGER_VARIABLE
    return (DEFAULT_OUTPUT_DIR / LEDGER_FILE).absolute(), "default"


def _ledger_file(text: str) -> Path:
    path = Path(text).expanduser()
    if path.is_dir() or text.endswith(("/", os.sep)):
        path = path / LEDGER_FILE
    return path.absolute()
