"""Where the panel's key comes from, and the line that says which service is in use.

A key typed into the panel is read once, kept only in this kernel's memory (inside the
connection) and wiped from the password widget at once, so it never reaches saved widget state.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import ipywidgets as widgets

from ..core.gateway import get_gateway
from .connection import Connection, connect
from .fields import DESCRIPTION_STYLE

BADGE_STYLE = (
    "background:#bf8700;color:white;padding:2px 8px;border-radius:4px;font-weight:bold;"
    "letter-spacing:.05em;margin-right:8px"
)


def sandbox_line(gateway: str) -> str:
    """What the sandbox is, and how to reach the real service of this gateway instead."""
    chosen = get_gateway(gateway)
    return (
        f"Local and free. For the real service, paste {_article(chosen.title)} {chosen.title} "
        f"key below or set {' or '.join(('OMNI_API_KEY', *chosen.key_env))}."
    )


def _article(word: str) -> str:
    return "an" if word[:1].upper() in "AEIOU" else "a"


def sandbox_title(gateway: str) -> str:
    """The badge's tooltip: what the sandbox is, and how to reach this gateway's real service."""
    chosen = get_gateway(gateway)
    names = " or ".join(("OMNI_API_KEY", *chosen.key_env))
    return (
        f"A local {chosen.title} sandbox: real MP4s, made on this machine, without a key or a "
        f"charge. For the real service, paste a key into the panel, or set {names} and restart "
        "the kernel."
    )


def sandbox_badge(gateway: str) -> str:
    """The unmistakable SANDBOX label (HTML), shared by the panel and the cards."""
    return (
        f"<span class='omni-sandbox-badge' style='{BADGE_STYLE}' "
        f"title='{html.escape(sandbox_title(gateway), quote=True)}'>SANDBOX</span>"
    )


class KeyBox(widgets.VBox):
    """Shows which service the panel talks to and, when no key is configured, takes one."""

    def __init__(
        self, connection: Connection, on_change: Callable[[Connection], None], *, ask: bool
    ) -> None:
        self.connection = connection
        self._on_change = on_change
        self._fallback = connection
        self.status = widgets.HTML()
        self.status.add_class("omni-service")
        self.password = widgets.Password(
            description="API key",
            placeholder="optional: paste a key, then press Enter (kept in kernel memory only)",
            continuous_update=False,
            style=DESCRIPTION_STYLE,
            layout=widgets.Layout(width="100%", max_width="560px"),
        )
        self.password.add_class("omni-key")
        self.password.observe(self._take_key, names="value")
        self.use = widgets.Button(description="Use key", tooltip="Use the key typed on the left")
        self.use.on_click(lambda _: self._take_key(None))
        self.forget = widgets.Button(
            description="Forget key",
            tooltip="Drop the key from kernel memory and go back to the sandbox",
            layout=widgets.Layout(display="none"),
        )
        self.forget.on_click(lambda _: self.forget_key())
        self.entry = widgets.HBox([self.password, self.use, self.forget])
        self.entry.layout.display = "" if ask else "none"
        super().__init__([self.status, self.entry])
        self._render()

    def _take_key(self, _: Any) -> None:
        key = self.password.value.strip()
        if not key:
            return
        # Wipe the widget first: the key must not stay in any synced widget state.
        self.password.value = ""
        self.use_key(key)

    def use_key(self, key: str) -> None:
        """Talk to the configured service (OMNI_BASE_URL or the real one) with this key."""
        self.connection = connect(api_key=key, gateway=self.connection.gateway)
        self.forget.layout.display = ""
        self._render()
        self._on_change(self.connection)

    def switch(self, connection: Connection) -> None:
        """Talk to another gateway's service (or sandbox); a key box shows when it has no key."""
        self.connection = self._fallback = connection
        self.forget.layout.display = "none"
        self.entry.layout.display = "" if connection.key_source == "sandbox" else "none"
        self._render()
        self._on_change(connection)

    def forget_key(self) -> None:
        """Go back to the connection the panel started with (usually the sandbox)."""
        self.connection = self._fallback
        self.forget.layout.display = "none"
        self._render()
        self._on_change(self.connection)

    def _render(self) -> None:
        c = self.connection
        host = urlsplit(c.base_url).hostname or c.base_url
        if c.sandbox:
            source = "" if c.key_source == "sandbox" else f" (key from {_source(c.key_source)})"
            self.status.value = (
                f"<div style='margin:2px 0 8px 0'>{sandbox_badge(c.gateway)}"
                "<span style='color:#57606a'>"
                f"{html.escape(sandbox_line(c.gateway) if c.key_source == 'sandbox' else host)}"
                f"{html.escape(source)}</span></div>"
            )
        else:
            self.status.value = (
                "<div style='margin:2px 0 8px 0'><span style='background:#1a7f37;color:white;"
                "padding:2px 8px;border-radius:4px;font-weight:bold;margin-right:8px'>LIVE</span>"
                f"<span style='color:#57606a'>{html.escape(host)} · key from "
                f"{html.escape(_source(c.key_source))} · tasks are billed</span></div>"
            )


def _source(key_source: str) -> str:
    return "the panel (kernel memory only)" if key_source == "argument" else key_source
