"""Task ids: the one pattern a gateway's ids follow, checked before an id is used anywhere.

An id typed by a user or sent by a server goes into a URL path and a file name, so a hostile one
("../../_sandbox/log") could reach another path of the server (with the API key) or leave the
output folder. Each gateway has its own id shape; ``EVOLINK_TASK_ID`` is EvoLink's, and
``TASK_ID`` is the one the protocol uses.
"""

from __future__ import annotations

import functools
import hashlib
import re
import urllib.parse

from .errors import Problem, ValidationError, short_repr

# EvoLink: task-unified-<unix time>-<letters and digits>, e.g. task-unified-1757169743-7cvnl5zw.
EVOLINK_TASK_ID = re.compile(r"task-unified-[0-9]{1,20}-[A-Za-z0-9]{1,64}")
EVOLINK_TASK_ID_SHAPE = "task-unified-<digits>-<letters and digits>"
TASK_ID = EVOLINK_TASK_ID
TASK_ID_SHAPE = EVOLINK_TASK_ID_SHAPE
# Every registered gateway's id pattern (core/gateway.py adds them): ids kept as file names.
KNOWN_TASK_IDS: list[re.Pattern[str]] = [EVOLINK_TASK_ID]

MAX_STEM = 120
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def is_task_id(value: object, pattern: re.Pattern[str] = TASK_ID) -> bool:
    """True when ``value`` is a string of exactly the gateway's id shape."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def check_task_id(
    value: object, pattern: re.Pattern[str] = TASK_ID, shape: str = TASK_ID_SHAPE
) -> str:
    """The id itself, or ValidationError naming it (before anything is sent)."""
    if is_task_id(value, pattern):
        assert isinstance(value, str)
        return value
    wrong = f"{short_repr(value)} is not a task id"
    raise ValidationError("task id", [Problem("task_id", value, f"ids like {shape}", wrong)])


def find_task_id(text: str | bytes, pattern: re.Pattern[str] = TASK_ID) -> str | None:
    """The first well-formed task id mentioned in an answer's body, if any."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for match in pattern.finditer(text):
        start, end = match.span()
        # An id at the very end may be cut short, and one inside a longer token is not an id.
        if end >= len(text) or _joins(text[end]) or (start and _joins(text[start - 1])):
            continue
        return match.group()
    return None


@functools.lru_cache(maxsize=4096)  # a watched task's id is escaped at every poll
def url_segment(task_id: str) -> str:
    """The id escaped as one URL path segment (a checked id is unchanged)."""
    return urllib.parse.quote(task_id, safe="")


def file_stem(task_id: str) -> str:
    """A file name stem for an id that cannot leave its folder or name a hidden file.

    A well-formed id is used as it is; anything else keeps its safe characters and gets a short
    hash of the original, so two different ids never share a file.
    """
    if len(task_id) <= MAX_STEM and any(is_task_id(task_id, p) for p in KNOWN_TASK_IDS):
        return task_id
    digest = hashlib.sha256(task_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    cleaned = _SAFE_CHARS.sub("_", task_id)[: MAX_STEM - 17].lstrip("-_")
    return f"{cleaned}-{digest}" if cleaned else f"task-{digest}"


def _joins(char: str) -> bool:
    return char.isalnum() or char in "-_"
