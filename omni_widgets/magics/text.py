"""What the user typed after ``%omni``: split into words, with ``{name}`` placeholders filled.

The magic opts out of IPython's own ``$x``/``{expr}`` expansion (which silently leaves the whole
line as typed when one name is unknown, and would then bill a task for a prompt with braces in
it) and applies one rule to the line and the cell body alike: ``str.format`` fields looked up in
the user's namespace, ``{{``/``}}`` for literal braces, and a clear error for an unknown name.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any, NamedTuple

from IPython.core.error import UsageError

from ..core.errors import short_repr

QUOTES = ("'", '"')
MAX_FORMAT_WIDTH = 1000  # {x:999999999} would build a gigabyte of spaces
_DIGITS = re.compile(r"\d+")
LITERAL_BRACES = "write {{ and }} for literal braces"


class Word(NamedTuple):
    """One word of the line, and whether it was quoted (a quoted word is never a subcommand)."""

    text: str
    quoted: bool


def split_line(line: str) -> list[Word]:
    """Split on whitespace; a word that starts with ' or " runs to the matching quote.

    Quotes inside a word are kept as typed, so ``a cat's hat`` needs no quoting. Inside quotes a
    backslash escapes the quote character or another backslash.
    """
    words: list[Word] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        if line[i] in QUOTES:
            text, i = _quoted(line, i)
            words.append(Word(text, True))
            continue
        start = i
        while i < n and not line[i].isspace():
            i += 1
        words.append(Word(line[start:i], False))
    return words


def _quoted(line: str, start: int) -> tuple[str, int]:
    quote = line[start]
    chars: list[str] = []
    i = start + 1
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line) and line[i + 1] in (quote, "\\"):
            chars.append(line[i + 1])
            i += 2
            continue
        if char == quote:
            return "".join(chars), i + 1
        chars.append(char)
        i += 1
    raise UsageError(
        f"quote {quote} at position {start}: unclosed in {short_repr(line[start:])}; "
        f"allowed: a quoted prompt that ends with {quote}"
    )


class _Placeholders(string.Formatter):
    """``str.format`` over a namespace, with errors that say which placeholder failed."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        if isinstance(key, int):
            raise UsageError(
                f"placeholder {{{key}}}: a placeholder needs a variable's name, not {{}} or "
                f"{{{key}}}; allowed: {{name}}, or {LITERAL_BRACES}"
            )
        try:
            return self.namespace[key]
        except KeyError:
            raise UsageError(
                f"placeholder {{{short_repr(key)[1:-1]}}}: unknown name {short_repr(key)}; "
                f"allowed: a defined variable's name, or {LITERAL_BRACES} (no task was created)"
            ) from None

    def format_field(self, value: Any, format_spec: str) -> Any:
        widest = max((int(d) for d in _DIGITS.findall(format_spec[:40])), default=0)
        if len(format_spec) > 40 or widest > MAX_FORMAT_WIDTH:
            raise UsageError(
                f"placeholder format {short_repr(format_spec)}: too wide; allowed: widths and "
                f"precisions up to {MAX_FORMAT_WIDTH}"
            )
        return super().format_field(value, format_spec)


def fill_placeholders(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace ``{name}`` (also ``{obj.attr}``, ``{seq[0]}``, ``{x:.1f}``) from ``namespace``."""
    if "{" not in text and "}" not in text:
        return text
    try:
        return _Placeholders(namespace).vformat(text, (), {})
    except UsageError:
        raise
    except ValueError as exc:
        raise UsageError(
            f"placeholder in {short_repr(text)}: {str(exc).replace(chr(10), ' ')}; "
            f"allowed: {{name}}, or {LITERAL_BRACES}"
        ) from None
    except Exception as exc:  # a user's attribute or item lookup may fail in any way
        raise UsageError(
            f"placeholder in {short_repr(text)}: it failed ({type(exc).__name__}: "
            f"{short_repr(str(exc), 80)[1:-1]}); allowed: {{name}}, {{name.attribute}}, "
            f"{{name[index]}}, or {LITERAL_BRACES}"
        ) from None
