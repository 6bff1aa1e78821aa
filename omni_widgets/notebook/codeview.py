"""A card's "Copy as code" toggle: the request as Python, curl or JSON in a read-only text box.

The code is made when first shown (``core/code.py``); the key is ``$OMNI_API_KEY`` in it, never
its value.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..core.code import KINDS, copy_as_code
from ..core.errors import OmniError
from ..core.requests import Request

#: The request, base URL and gateway name to write code for (None: nothing to show yet).
Source = Callable[[], tuple[Request, str, str] | None]


class CodeToggle(widgets.VBox):
    """A small toggle button; when on, three kinds of code for the request, one at a time."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self.button = widgets.ToggleButton(
            description="Copy as code",
            icon="code",
            tooltip="This request as a Python call, a curl command or its JSON body",
            layout=widgets.Layout(width="auto"),
        )
        self.button.add_class("omni-copy-toggle")
        # The kind picker and the code box are made on first use: a thousand cards rarely open
        # one, and every widget is a dozen objects the garbage collector walks on each full pass.
        self._opened: tuple[widgets.ToggleButtons, widgets.HTML, widgets.VBox] | None = None
        self.button.observe(self._toggled, "value")
        super().__init__([self.button], layout=widgets.Layout(display="none"))

    @property
    def kind(self) -> widgets.ToggleButtons:
        """The picker of the kind of code (Python, curl, JSON)."""
        return self._open()[0]

    @property
    def code(self) -> widgets.HTML:
        """The box showing the code."""
        return self._open()[1]

    @property
    def _panel(self) -> widgets.VBox:
        return self._open()[2]

    def _open(self) -> tuple[widgets.ToggleButtons, widgets.HTML, widgets.VBox]:
        if self._opened is None:
            kind = widgets.ToggleButtons(
                options=list(KINDS), style={"button_width": "70px"}, layout=widgets.Layout()
            )
            kind.add_class("omni-code-kind")
            code = widgets.HTML()
            code.add_class("omni-code")
            panel = widgets.VBox([kind, code], layout=widgets.Layout(display="none"))
            kind.observe(lambda _: self._fill(), "value")
            self._opened = (kind, code, panel)
            self.children = (self.button, panel)
        return self._opened

    def refresh(self) -> None:
        """Show the toggle once there is a request to write code for."""
        self.layout.display = "" if self._source() is not None else "none"
        if self.button.value:
            self._fill()

    def text(self) -> str:
        """The code of the chosen kind ("" while there is no request)."""
        found = self._source()
        if found is None:
            return ""
        request, base_url, gateway = found
        try:
            return copy_as_code(request, self.kind.value, base_url=base_url, gateway=gateway)
        except OmniError as exc:
            return f"# {exc}"

    def _toggled(self, change: dict[str, Any]) -> None:
        self._panel.layout.display = "" if change["new"] else "none"
        if change["new"]:
            self._fill()

    def _fill(self) -> None:
        text = self.text()
        rows = min(16, text.count("\n") + 1)
        self.code.value = (
            f"<textarea class='omni-code-text' readonly rows='{rows}' spellcheck='false' "
            "style='width:100%;max-width:720px;font-family:monospace;font-size:12px'>"
            f"{html.escape(text)}</textarea>"
        )
