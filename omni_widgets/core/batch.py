"""Planning a grid: many requests from axes, a list or a table, all validated before any is sent.

A grid is described as the product of axes over a base request (:func:`product`), an explicit list
of requests, or a table (a pandas DataFrame or a list of dicts, one row per request). :func:`plan`
turns any of these into a :class:`Plan`: every row built and validated (one ``ValidationError``
naming every bad row's index and field), each row's estimated credits, and a grid id derived from
the rows themselves, so running the same grid again finds its earlier rows in the ledger.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .budget import check_budget
from .errors import OmniError, Problem, ValidationError
from .ledger import describe_request
from .pricing import estimate_credits
from .requests import ImageToVideo, ReferenceToVideo, Request, TextToVideo, VideoEdit

MODES: dict[str, type[Request]] = {
    "text": TextToVideo,
    "image": ImageToVideo,
    "reference": ReferenceToVideo,
    "edit": VideoEdit,
}
MODE_OF: dict[type[Request], str] = {cls: mode for mode, cls in MODES.items()}
FIELDS = ("mode", "prompt", "duration", "aspect_ratio", "image", "images", "video_url")
FIELDS_ALLOWED = ", ".join(FIELDS) + ", callback_url"
#: Plural and short axis names accepted by :func:`product`, and the field each one sets.
AXIS_NAMES = {
    **{name: name for name in (*FIELDS, "callback_url")},
    "prompts": "prompt",
    "durations": "duration",
    "aspect": "aspect_ratio",
    "aspects": "aspect_ratio",
    "aspect_ratios": "aspect_ratio",
    "modes": "mode",
    "video_urls": "video_url",
}
GRID_KIND = "grid"


@dataclass(frozen=True)
class PlannedRow:
    """One row of a grid: its index, what it sets, the validated request and its cost."""

    index: int
    request: Request
    credits: float

    @property
    def mode(self) -> str:
        return MODE_OF[type(self.request)]

    def settings(self) -> dict[str, Any]:
        """The row's settings in a flat, printable form (images by count, not data)."""
        request = self.request
        settings: dict[str, Any] = {"mode": self.mode, "prompt": request.prompt}
        for name in ("duration", "aspect_ratio"):
            if hasattr(request, name):
                settings[name] = getattr(request, name)
        if isinstance(request, ImageToVideo):
            settings["images"] = 1
        elif isinstance(request, ReferenceToVideo):
            settings["images"] = len(request.images)
        elif isinstance(request, VideoEdit):
            settings["video_url"] = request.video_url
        return settings


@dataclass(frozen=True)
class Plan:
    """A validated grid: its rows in order, their total estimated cost and the grid id."""

    rows: tuple[PlannedRow, ...]
    grid_id: str

    @property
    def requests(self) -> list[Request]:
        return [row.request for row in self.rows]

    @property
    def estimate(self) -> float:
        """Estimated credits of every row together."""
        return round(sum(row.credits for row in self.rows), 2)

    def check_budget(self, budget: float | None = None) -> None:
        """Raise ``BudgetExceededError`` when the whole plan is over the budget that applies."""
        check_budget(self.estimate, budget, f"grid {self.grid_id} ({len(self.rows)} rows)")

    def summary(self) -> str:
        """One line: rows, modes and the estimated cost."""
        modes = sorted({row.mode for row in self.rows})
        return (
            f"grid {self.grid_id}: {len(self.rows)} rows ({', '.join(modes) or 'none'}), "
            f"estimated {self.estimate:,.2f} credits"
        )

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Plan({self.summary()})"


def product(base: Request | Mapping[str, Any] | None = None, **axes: Any) -> list[dict[str, Any]]:
    """Rows for every combination of the axes over a base request, the last axis fastest.

    ``product(TextToVideo("a fox"), durations=[5, 6], aspect_ratios=["16:9", "9:16"])`` gives
    four rows. An axis is a list of values (a single value counts as a list of one); axis names
    are row fields or their plurals (prompts, durations, aspect_ratios, images, modes).
    """
    start = _base_row(base)
    names: list[str] = []
    values: list[list[Any]] = []
    problems: list[Problem] = []
    for name, given in axes.items():
        field = AXIS_NAMES.get(name)
        if field is None:
            problems.append(Problem(name, given, f"an axis named one of {', '.join(AXIS_NAMES)}"))
            continue
        listed = _axis_values(field, given)
        if not listed:
            problems.append(Problem(name, given, "a non-empty list of values", "no values given"))
        names.append(field)
        values.append(listed)
    if problems:
        raise ValidationError(GRID_KIND, problems)
    rows = [{**start, **dict(zip(names, c, strict=True))} for c in itertools.product(*values)]
    if "mode" in names:  # a sweep over modes: each row keeps only the fields its mode takes
        rows = [_for_mode(row) for row in rows]
    return rows


def _for_mode(row: dict[str, Any]) -> dict[str, Any]:
    cls = MODES.get(row["mode"]) if isinstance(row["mode"], str) else None
    if cls is None:
        return row
    return {k: v for k, v in row.items() if k == "mode" or k in _FIELDS_OF[cls]}


def plan(requests: Any, *, grid_id: str | None = None, gateway: Any = None) -> Plan:
    """Validate every row of a grid (a Plan, requests, dicts or a DataFrame) and price it.

    Raises one ``ValidationError`` naming every bad row as ``rows[INDEX].FIELD``, before anything
    is sent. ``grid_id`` defaults to a digest of the rows, so the same grid gets the same id.
    """
    if isinstance(requests, Plan):
        return requests
    rows = _rows_of(requests)
    built: list[PlannedRow] = []
    problems: list[Problem] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for index, row in enumerate(rows):
            try:
                request = request_from_row(row)
            except ValidationError as exc:
                problems.extend(_in_row(index, p) for p in exc.problems)
                continue
            built.append(PlannedRow(index, request, estimate_credits(request, gateway)))
    for warning in {str(w.message): w for w in caught}.values():
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if problems:
        raise ValidationError(GRID_KIND, problems)
    if not built:
        raise ValidationError(GRID_KIND, [Problem("rows", rows, "at least one row", "no rows")])
    return Plan(tuple(built), grid_id if grid_id is not None else grid_digest(built))


def grid_digest(rows: Sequence[PlannedRow]) -> str:
    """A short id for a grid: the same rows in the same order always give the same id."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(describe_request(row.request), sort_keys=True).encode())
        digest.update(b"\n")
    return "grid-" + digest.hexdigest()[:12]


def request_from_row(row: Mapping[str, Any] | Request) -> Request:
    """The request one row describes; its mode is given or follows from its fields."""
    if isinstance(row, Request):
        return row
    if not isinstance(row, Mapping):
        raise ValidationError(
            GRID_KIND,
            [Problem("row", row, "a request or a dict of " + FIELDS_ALLOWED, "not a row")],
        )
    values = {str(k): v for k, v in row.items() if not _missing(v)}
    unknown = [k for k in values if k not in FIELDS and k != "callback_url"]
    if unknown:
        raise ValidationError(
            GRID_KIND, [Problem(k, values[k], f"fields among {FIELDS_ALLOWED}") for k in unknown]
        )
    mode = values.pop("mode", None) or _inferred_mode(values)
    cls = MODES.get(mode) if isinstance(mode, str) else None
    if cls is None:
        raise ValidationError(GRID_KIND, [Problem("mode", mode, "one of " + ", ".join(MODES))])
    extra = [k for k in values if k not in _FIELDS_OF[cls]]
    if extra:
        raise ValidationError(
            GRID_KIND,
            [
                Problem(k, values[k], f"fields of mode {mode!r}: {', '.join(_FIELDS_OF[cls])}")
                for k in extra
            ],
        )
    prompt = values.pop("prompt", None)
    if cls is TextToVideo:
        return TextToVideo(prompt, **values)
    if cls is ImageToVideo:
        return ImageToVideo(prompt, values.pop("image", None), **values)
    if cls is ReferenceToVideo:
        return ReferenceToVideo(prompt, values.pop("images", None), **values)
    return VideoEdit(prompt, values.pop("video_url", None), **values)


_TIMED = ("prompt", "duration", "aspect_ratio", "callback_url")
_FIELDS_OF: dict[type[Request], tuple[str, ...]] = {
    TextToVideo: _TIMED,
    ImageToVideo: (*_TIMED, "image"),
    ReferenceToVideo: (*_TIMED, "images"),
    VideoEdit: ("prompt", "video_url", "callback_url"),
}


def _inferred_mode(values: Mapping[str, Any]) -> str:
    if "video_url" in values:
        return "edit"
    if "images" in values:
        return "reference"
    if "image" in values:
        return "image"
    return "text"


def _base_row(base: Request | Mapping[str, Any] | None) -> dict[str, Any]:
    if base is None:
        return {}
    if isinstance(base, Mapping):
        return dict(base)
    if not isinstance(base, Request):
        raise ValidationError(GRID_KIND, [Problem("base", base, "a request or a dict of fields")])
    row: dict[str, Any] = {"mode": MODE_OF[type(base)]}
    for name in ("prompt", *_FIELDS_OF[type(base)]):
        value = getattr(base, name, None)
        if value is not None:
            row[name] = list(value) if isinstance(value, tuple) else value
    return row


def _axis_values(field: str, given: Any) -> list[Any]:
    if field == "images":  # an axis of image sets: a list of lists
        if isinstance(given, (list, tuple)) and all(isinstance(v, (list, tuple)) for v in given):
            return list(given)
        return [given]
    if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
        return [given]
    return list(given)


def _rows_of(requests: Any) -> list[Any]:
    """A table's or a list's rows; a DataFrame is read through ``to_dict("records")``."""
    to_dict = getattr(requests, "to_dict", None)
    if callable(to_dict) and hasattr(requests, "columns"):
        return list(to_dict("records"))
    if isinstance(requests, (Request, Mapping, str)) or not isinstance(requests, Iterable):
        raise ValidationError(
            GRID_KIND,
            [
                Problem(
                    "requests",
                    requests,
                    "a list of requests or dicts, a DataFrame, or omni_widgets.product(...)",
                    f"a {type(requests).__name__}",
                )
            ],
        )
    return list(requests)


def _missing(value: Any) -> bool:
    """An empty table cell: None, or NaN where pandas fills a column a row does not have."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _in_row(index: int, problem: Problem) -> Problem:
    return Problem(f"rows[{index}].{problem.field}", problem.value, problem.allowed, problem.wrong)


class GridStoppedError(OmniError):
    """A grid row that was not sent because the grid was stopped first."""

    def __init__(self, grid_id: str, index: int) -> None:
        self.grid_id = grid_id
        self.index = index
        super().__init__(
            f"{grid_id} row {index}: not sent, the grid was stopped; resume to send it"
        )
