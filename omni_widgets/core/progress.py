"""A default progress line for blocking calls, so a long wait always shows what it is doing."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from .retry import RetryNotice
from .task import Task

Reporter = Callable[[Task | RetryNotice], None]


def describe(update: Task | RetryNotice, started: float) -> str:
    """One line: task id, status, percent and elapsed time, or the retry notice."""
    if isinstance(update, RetryNotice):
        return f"omni: {update.message}"
    elapsed = time.monotonic() - started
    eta = ""
    if update.estimated_time and not update.is_terminal:
        eta = f", about {max(0, update.estimated_time - elapsed):.0f} s left"
    return f"omni: {update.id} {update.status} {update.progress}% ({elapsed:.0f} s{eta})"


def default_reporter() -> Reporter | None:
    """An in-place line in a notebook, a line on an interactive terminal, else nothing."""
    started = time.monotonic()
    handle = _notebook_handle()
    if handle is not None:

        def show(update: Task | RetryNotice) -> None:
            handle.update({"text/plain": describe(update, started)}, raw=True)

        return show
    if sys.stderr.isatty():

        def show_tty(update: Task | RetryNotice) -> None:
            print(describe(update, started), file=sys.stderr, flush=True)

        return show_tty
    return None


def _notebook_handle() -> Any:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    return display({"text/plain": "omni: starting…"}, raw=True, display_id=True)  # type: ignore[no-untyped-call]
