"""A self-contained HTML report of results: settings, a contact sheet of frames, the videos.

The frames are embedded (JPEG data URIs), so the page shows them anywhere; the videos are
referenced by a path relative to the report, so the report stays small and plays them when it
is opened beside its ``omni_outputs`` folder (moved together, the links keep working).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import Problem, ValidationError
from .frames import frames
from .ledger import Ledger, LedgerRecord
from .results import result_row, results

FRAMES_PER_VIDEO = 4
SETTINGS = ("mode", "duration", "aspect_ratio", "resolution", "images", "gateway", "status")
_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px} h2{font-size:15px;margin:0 0 6px 0}
table{border-collapse:collapse;font-size:13px;margin:12px 0}
td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa} .differs{background:#fff8c5}
section{border:1px solid #d0d7de;border-radius:6px;padding:12px;margin:12px 0}
.sheet{display:flex;gap:4px;flex-wrap:wrap;margin:6px 0} .sheet img{height:90px}
video{max-width:480px;max-height:360px;display:block;margin:6px 0}
.meta{color:#57606a;font-size:12px} code{font-size:12px}
"""


def report(
    source: Any, path: str | os.PathLike[str], *, title: str = "omni-widgets results"
) -> Path:
    """Write an HTML report of ``source`` (a DataFrame or rows from ``results()``, records from
    ``client.history()``, or a Ledger) to ``path``; returns the path written."""
    target = Path(path).expanduser().absolute()
    if target.suffix.lower() not in (".html", ".htm"):
        raise ValidationError(
            "report", [Problem("path", str(path), "a file name ending in .html", "not .html")]
        )
    rows = _rows(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = report_html(rows, target.parent, title)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)
    return target


def report_html(rows: list[Mapping[str, Any]], folder: Path, title: str) -> str:
    """The report's page: a settings table (differences marked), then one section per result."""
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='meta'>{len(rows)} result(s) · made {made} · videos linked by relative "
        "path: keep this file beside its videos' folder</p>",
        settings_table(rows),
    ]
    parts.extend(_section(row, folder) for row in rows)
    parts.append("</body></html>")
    return "\n".join(parts)


def settings_table(rows: list[Mapping[str, Any]]) -> str:
    """One column per result, one row per setting; a setting that differs is highlighted."""
    if not rows:
        return "<p>No results.</p>"
    head = "".join(f"<th>{html.escape(str(row.get('id') or '-'))}</th>" for row in rows)
    lines = [f"<table class='omni-settings'><tr><th>setting</th>{head}</tr>"]
    for name in ("prompt", *SETTINGS, "credits", "latency_s"):
        values = [row.get(name) for row in rows]
        differs = len({repr(v) for v in values}) > 1
        cells = "".join(
            f"<td{' class=differs' if differs else ''}>{html.escape(_text(v))}</td>" for v in values
        )
        lines.append(f"<tr><th>{name}</th>{cells}</tr>")
    lines.append("</table>")
    return "".join(lines)


def _section(row: Mapping[str, Any], folder: Path) -> str:
    video = Path(str(row["path"])) if row.get("path") else None
    sheet = ""
    player = "<p class='meta'>no saved video</p>"
    if video is not None and video.is_file():
        shots = frames(video, FRAMES_PER_VIDEO)
        sheet = "".join(
            f"<img alt='frame {i + 1}' src='data:image/jpeg;base64,"
            f"{base64.b64encode(shot).decode('ascii')}'>"
            for i, shot in enumerate(shots)
        )
        link = urllib.parse.quote(Path(os.path.relpath(video, folder)).as_posix())
        player = f"<video controls preload='metadata' src='{html.escape(link)}'></video>"
    error = (
        f" · {html.escape(_text(row.get('error_code') or row.get('error')))}"
        if (row.get("error_code") or row.get("error"))
        else ""
    )
    return (
        f"<section class='omni-result'><h2>{html.escape(_text(row.get('prompt')))}</h2>"
        f"<div class='meta'>task <code>{html.escape(_text(row.get('id')))}</code> · "
        f"{html.escape(_text(row.get('mode')))} · {html.escape(_text(row.get('status')))}{error}"
        f" · created {html.escape(_text(row.get('created_at')))}</div>"
        f"<div class='sheet'>{sheet}</div>{player}"
        f"<div class='meta'>{html.escape(_text(row.get('path')))}</div></section>"
    )


def _rows(source: Any) -> list[Mapping[str, Any]]:
    if isinstance(source, Ledger):
        return _rows(results(source))
    if hasattr(source, "to_dict") and hasattr(source, "columns"):  # a pandas DataFrame
        records: list[Mapping[str, Any]] = source.to_dict("records")
        return records
    if isinstance(source, (LedgerRecord, Mapping)):
        source = [source]
    if not isinstance(source, Iterable):
        raise ValidationError(
            "report",
            [
                Problem(
                    "source",
                    source,
                    "a DataFrame or rows from results(), records from client.history(), a Ledger",
                    f"{type(source).__name__} is none of these",
                )
            ],
        )
    return [result_row(item) if isinstance(item, LedgerRecord) else item for item in source]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return "-"
    return str(value)
