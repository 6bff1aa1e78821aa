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
    "resolution": "Resolution",
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

    def set_problems(self, problems: list[Problem], names: dict[str, str] | None = None) -> None:
        """Say in words what is wrong with this field (nothing when ``problems`` is empty).

        ``names`` gives an upload's file name by problem field (``image``, ``images[1]``).
        """
        text = summarize(problems, names)
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


def describe(problem: Problem, name: str | None = None) -> str:
    """A problem as "FIELD: what is wrong; allowed: what is allowed".

    ``images[1]`` reads "Image 2"; ``name`` (an upload's file name) is added to the label, since
    the bytes of an upload say nothing to the person who chose the file.
    """
    return f"{field_label(problem.field, name)}: {problem.reason}; allowed: {problem.allowed}"


def field_label(field: str, name: str | None = None) -> str:
    """How a request field is named to a person (``images[1]`` is "Image 2")."""
    base, _, index = field.partition("[")
    label = f"Image {int(index.rstrip(']')) + 1}" if index else FIELD_LABELS.get(base, base)
    return f"{label} ({name})" if name else label


def summarize(problems: list[Problem], names: dict[str, str] | None = None) -> str:
    """Every problem in the same words as beside its field, for the line beside Generate."""
    return " · ".join(describe(p, (names or {}).get(p.field)) for p in problems)


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
