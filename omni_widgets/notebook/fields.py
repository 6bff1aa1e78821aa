"""Form building blocks: a labelled row with a problem line, and problems put into words."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from ..core.errors import Problem

LABEL_WIDTH = "96px"
DESCRIPTION_STYLE = {"description_width": LABEL_WIDTH}

# How each request field is named to a person.
FIELD_LABELS = {
    "prompt": "Prompt",
    "image": "Image",
    "images": "Images",
    "video_url": "Video URL",
    "duration": "Duration",
    "aspect_ratio": "Aspect ratio",
    "callback_url": "Callback URL",
}


class FieldRow(widgets.VBox):
    """One field of the form: its controls, an optional hint, and a line saying what is wrong."""

    def __init__(self, name: str, *controls: Any, hint: str = "") -> None:
        self.name = name
        self.hint = widgets.HTML(_hint_html(hint))
        self.problem = widgets.HTML()
        self.problem.add_class("omni-problem")
        super().__init__(
            [*controls, self.hint, self.problem], layout=widgets.Layout(margin="0 0 6px 0")
        )
        self.add_class(f"omni-field-{name.replace('_', '-')}")

    def show(self, visible: bool) -> None:
        self.layout.display = "" if visible else "none"

    @property
    def visible(self) -> bool:
        return bool(self.layout.display != "none")

    def set_problems(self, problems: list[Problem]) -> None:
        """Say in words what is wrong with this field (nothing when ``problems`` is empty)."""
        text = "; ".join(describe(p) for p in problems)
        self.problem.value = (
            f"<div role='alert' style='color:#cf222e;font-size:12px;margin-left:{LABEL_WIDTH}'>"
            f"✗ {html.escape(text)}</div>"
            if text
            else ""
        )

    @property
    def problem_text(self) -> str:
        """The problem line as plain text (empty when the field is fine)."""
        return html.unescape(strip_tags(self.problem.value)).removeprefix("✗ ").strip()

    def set_hint(self, hint: str) -> None:
        self.hint.value = _hint_html(hint)


def describe(problem: Problem) -> str:
    """A problem as a short sentence: which item, what was given, what is allowed."""
    field = problem.field
    where = ""
    if "[" in field:
        index = int(field.split("[", 1)[1].rstrip("]"))
        where = f"image {index + 1}: "
    value = problem.value
    if value in ("", None) or (isinstance(value, str) and not value.strip()):
        return _cap(f"{where}needs {problem.allowed}")
    if field in ("image", "images") and isinstance(value, str) and value.endswith("images"):
        return _cap(f"{value} given; needs {problem.allowed}")
    if where:
        return _cap(f"{where}{problem.allowed}")
    return _cap(f"{_short(value)} is not allowed: needs {problem.allowed}")


def summarize(problems: list[Problem]) -> str:
    """Every problem, prefixed by its field's label, for the line beside Generate."""
    parts = []
    for problem in problems:
        label = FIELD_LABELS.get(problem.field.split("[")[0], problem.field)
        text = describe(problem)
        parts.append(f"{label}: {text[:1].lower()}{text[1:]}")
    return "; ".join(parts)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = f"“{text}”" if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 2] + "…”"


def _hint_html(hint: str) -> str:
    if not hint:
        return ""
    return (
        f"<div style='color:#57606a;font-size:12px;margin-left:{LABEL_WIDTH}'>"
        f"{html.escape(hint)}</div>"
    )


def strip_tags(text: str) -> str:
    """The text of a small piece of HTML (tags dropped, entities kept)."""
    out, inside = [], False
    for char in text:
        if char == "<":
            inside = True
        elif char == ">":
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out).strip()
