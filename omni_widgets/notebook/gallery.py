"""The gallery: the ledger's recorded results, filtered and paged; 2 to 4 compared side by side.

The front end is an anywidget module (``static/gallery.js``); the kernel answers with one page of
records at a time (``core/catalog.py``), so it stays fast over thousands. Videos and posters are
fetched by the browser through the Jupyter server's ``/files/`` route when the file lies under the
server's root; otherwise posters travel as small data URIs and a compared video as one binary
message, never every item's bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import urllib.parse
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..core.catalog import MODES, Filters, by_row_ids, choices, page
from ..core.code import KINDS, copy_as_code
from ..core.errors import OmniError
from ..core.frames import poster
from ..core.ledger import Ledger, LedgerRecord
from ..core.results import result_row
from ..core.settings import resolve_ledger

logger = logging.getLogger("omni_widgets")

STATIC = Path(__file__).parent / "static"
PAGE_SIZE = 24
MAX_COMPARED = 4
MAX_VIDEO_MESSAGE = 64 * 1024 * 1024
#: Settings shown (and diffed) for compared results, in this order.
SETTINGS = ("mode", "prompt", "duration", "aspect_ratio", "resolution", "images", "gateway")


class Gallery(anywidget.AnyWidget):
    """The ledger's results as a paged, filterable grid; pick 2 to 4 to compare side by side."""

    _esm = STATIC / "gallery.js"

    items = traitlets.List(traitlets.Dict()).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(PAGE_SIZE).tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    gateway = traitlets.Unicode("").tag(sync=True)
    since = traitlets.Unicode("").tag(sync=True)
    until = traitlets.Unicode("").tag(sync=True)
    choices = traitlets.Dict().tag(sync=True)
    selected = traitlets.List(traitlets.Int()).tag(sync=True)
    compared = traitlets.List(traitlets.Dict()).tag(sync=True)
    focus = traitlets.Int(-1).tag(sync=True)
    detail = traitlets.Dict().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, ledger: Ledger | None = None, *, page_size: int = PAGE_SIZE) -> None:
        super().__init__(page_size=page_size)
        self.ledger = ledger or _default_ledger()
        self._files = FileLinks.discover()
        self.add_class("omni-gallery")
        self.observe(self._on_filters, ["text", "mode", "status", "gateway", "since", "until"])
        self.observe(self._on_page, ["page", "page_size"])
        self.observe(self._on_selected, ["selected"])
        self.observe(self._on_focus, ["focus"])
        self.on_msg(self._message)
        self.refresh()

    def __repr__(self) -> str:
        return f"<Gallery {self.total} result(s) of {self.ledger.path}>"

    @property
    def filters(self) -> Filters:
        return Filters(
            self.text, self.mode or None, self.status or None, self.gateway or None,
            self.since or None, self.until or None,
        )  # fmt: skip

    def refresh(self) -> None:
        """Read the current page again (new tasks recorded since appear)."""
        try:
            self.choices = choices(self.ledger)
            found = page(self.ledger, self.filters, self.page * self.page_size, self.page_size)
        except (OmniError, OSError) as exc:
            self.error = str(exc)
            return
        self.error = ""
        self.total = found.total
        self.items = [self._item(record) for record in found.records]

    def compare(self, *row_ids: int) -> None:
        """Compare these results (2 to 4 row ids) side by side."""
        self.selected = list(row_ids)[:MAX_COMPARED]

    def _on_filters(self, _: Any) -> None:
        if self.page != 0:
            self.page = 0  # refreshes through _on_page
        else:
            self.refresh()

    def _on_page(self, _: Any) -> None:
        self.refresh()

    def _on_selected(self, change: dict[str, Any]) -> None:
        chosen = list(dict.fromkeys(change["new"]))[:MAX_COMPARED]
        if chosen != change["new"]:
            self.selected = chosen
            return
        records = by_row_ids(self.ledger, chosen)
        details = [self._detail(record) for record in records]
        differs = _differing(details)
        for item in details:
            item["differs"] = differs
        self.compared = details

    def _on_focus(self, change: dict[str, Any]) -> None:
        found = by_row_ids(self.ledger, [change["new"]]) if change["new"] >= 0 else []
        self.detail = self._detail(found[0]) if found else {}

    def _message(self, _: Any, content: Any, buffers: Any) -> None:
        """The front end asks to read the ledger again, or for a video it cannot fetch through
        the server (sent once)."""
        if isinstance(content, dict) and content.get("type") == "refresh":
            self.refresh()
            return
        if not isinstance(content, dict) or content.get("type") != "video":
            return
        found = by_row_ids(self.ledger, [int(content.get("row_id", -1))])
        path = found[0].path if found else None
        if path is None or not path.is_file() or path.stat().st_size > MAX_VIDEO_MESSAGE:
            self.send({"type": "video", "row_id": content.get("row_id"), "missing": True})
            return
        self.send({"type": "video", "row_id": content["row_id"]}, [path.read_bytes()])

    def _item(self, record: LedgerRecord) -> dict[str, Any]:
        video = record.path if record.path is not None and record.path.is_file() else None
        return {
            "row_id": record.row_id,
            "task_id": record.task_id or "",
            "prompt": record.prompt,
            "mode": MODES.get(record.model or "", record.model or ""),
            "status": record.status,
            "gateway": record.gateway,
            "created": _local(record.created_at),
            "error": record.error or "",
            "src": self._files.url(video) if video else "",
            "poster": self._poster(video) if video else "",
            "has_video": video is not None,
        }

    def _detail(self, record: LedgerRecord) -> dict[str, Any]:
        row = result_row(record)
        item = self._item(record)
        code = {}
        for kind in KINDS:
            try:
                code[kind] = copy_as_code(record, kind)
            except OmniError as exc:
                code[kind] = f"# {exc}"
        return {
            **item,
            "request": json.dumps(record.request or {}, indent=2, ensure_ascii=False),
            "settings": {name: _text(row.get(name)) for name in SETTINGS},
            "credits": row["credits"],
            "completed": _local(record.completed_at) if record.completed_at else "",
            "latency_s": row["latency_s"],
            "path": str(record.path) if record.path else "",
            "size": record.size or 0,
            "code": code,
        }

    def _poster(self, video: Path) -> str:
        image = poster(video)
        if image is None:
            return ""
        url = self._files.url(image)
        if url:
            return url
        return "data:image/jpeg;base64," + base64.b64encode(image.read_bytes()).decode("ascii")


class FileLinks:
    """How the browser reaches a file through the Jupyter server that runs this kernel.

    The running servers' records (root folder and base URL) are read once; a file under the
    root becomes ``{base_url}files/{relative path}``. None elsewhere, or with no server.
    """

    def __init__(self, roots: list[tuple[Path, str]]) -> None:
        self.roots = sorted(roots, key=lambda item: len(str(item[0])), reverse=True)

    @classmethod
    def discover(cls) -> FileLinks:
        try:
            from jupyter_server.serverapp import list_running_servers
        except ImportError:
            return cls([])
        here = Path.cwd().resolve()
        roots = []
        try:
            for server in list_running_servers():
                root = Path(server.get("root_dir") or server.get("notebook_dir") or "").resolve()
                if root.parts and (here == root or root in here.parents):
                    roots.append((root, str(server.get("base_url") or "/")))
        except Exception as exc:  # a stale or unreadable server record
            logger.info("Jupyter servers not read: %s", exc)
        return cls(roots)

    def url(self, path: Path) -> str:
        resolved = path.resolve()
        for root, base in self.roots:
            if root in resolved.parents:
                relative = resolved.relative_to(root).as_posix()
                if any(part.startswith(".") for part in relative.split("/")):
                    return ""  # the server hides dot folders
                return base.rstrip("/") + "/files/" + urllib.parse.quote(relative)
        return ""


def gallery(
    ledger: Ledger | str | os.PathLike[str] | None = None, *, page_size: int = PAGE_SIZE
) -> Gallery:
    """A gallery of every recorded result (the default ledger, or the one given)."""
    chosen = ledger if isinstance(ledger, Ledger) or ledger is None else Ledger(ledger)
    return Gallery(chosen, page_size=page_size)


def _default_ledger() -> Ledger:
    path, _ = resolve_ledger()
    if path is None:
        raise OmniError(
            "the task ledger is off (OMNI_LEDGER), so there are no recorded results to show; "
            "pass a ledger file: gallery('omni_outputs/omni-tasks.sqlite3')"
        )
    return Ledger(path)


def _differing(details: list[dict[str, Any]]) -> list[str]:
    if len(details) < 2:
        return []
    return [name for name in SETTINGS if len({d["settings"].get(name) for d in details}) > 1]


def _local(when: float) -> str:
    return dt.datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M:%S")


def _text(value: Any) -> str:
    return "-" if value is None else str(value)
