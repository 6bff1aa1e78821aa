"""What a saved notebook shows without a kernel: a static HTML twin beside each live widget.

Why a second output and not a ``text/html`` entry in the widget's own bundle: JupyterLab and
Notebook 7 pick a bundle's renderer by rank, and for a trusted notebook (one the user saved) the
widget renderer wins even when its model is gone, showing "Error displaying widget: model not
found"; only untrusted outputs and nbconvert (which drops widget views without saved state) would
use the fallback. So each finished card and each panel also leaves a plain ``text/html`` output:
the video by relative path (``<video src="omni_outputs/….mp4">``, which the front end serves
through the Jupyter server, relative to the notebook), its prompt and settings as text. While the
widget is live, a ``<style>`` inside the widget hides its twin; without a kernel that style is
gone, the twin shows, and the twin's own style hides the widget's error line.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from IPython.display import display

from ..core.download import sidecar_path

#: Request fields shown as the video's settings (the prompt is shown on its own line).
SETTING_LABELS = {
    "duration": "duration",
    "aspect_ratio": "aspect ratio",
    "image_urls": "images",
    "video_urls": "video",
    "callback_url": "callback",
}
MODE_OF_MODEL = {
    "gemini-omni-flash-text-to-video": "Text → video",
    "gemini-omni-flash-image-to-video": "Image → video",
    "gemini-omni-flash-reference-to-video": "References → video",
    "gemini-omni-flash-video-edit": "Video edit",
}
VIDEO_STYLE = "max-width:480px;max-height:480px;width:auto;height:auto;display:block;margin:6px 0"


@dataclass(frozen=True)
class SavedVideo:
    """A finished video on disk and what made it (from the job, or from its JSON sidecar)."""

    path: Path
    task_id: str
    model: str | None
    prompt: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return MODE_OF_MODEL.get(self.model or "", self.model or "video")

    @classmethod
    def from_request(cls, path: Path, task_id: str, payload: dict[str, Any] | None) -> SavedVideo:
        """From a request's ``describe()`` payload (image data already replaced by a summary)."""
        payload = dict(payload or {})
        model = payload.pop("model", None)
        prompt = str(payload.pop("prompt", ""))
        settings = {k: v for k, v in payload.items() if k in SETTING_LABELS and v is not None}
        return cls(path, task_id, model, prompt, settings)


def read_folder(folder: str | os.PathLike[str]) -> list[SavedVideo]:
    """The videos in ``folder`` that have a readable sidecar, newest first."""
    found: list[tuple[float, SavedVideo]] = []
    root = Path(folder).expanduser()
    if not root.is_dir():
        return []
    for video in root.glob("*.mp4"):
        record = _read_json(sidecar_path(video))
        if record is None or not video.is_file():
            continue
        task_id = str(record.get("task_id") or video.stem)
        saved = SavedVideo.from_request(video, task_id, record.get("request"))
        if saved.model is None and record.get("model"):
            saved = SavedVideo(video, task_id, str(record["model"]), saved.prompt, saved.settings)
        found.append((video.stat().st_mtime, saved))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [saved for _, saved in found]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def relative_src(path: Path) -> str:
    """The video's URL relative to the kernel's working folder (the notebook's, in Jupyter)."""
    target = path if path.is_absolute() else Path.cwd() / path
    try:
        relative = os.path.relpath(target, Path.cwd())
    except ValueError:  # another drive on Windows
        relative = str(target)
    return quote(Path(relative).as_posix())


def settings_text(settings: dict[str, Any]) -> str:
    """``duration 6 s · aspect ratio 9:16 · images 1 (png 320x240)``."""
    parts = []
    for key, label in SETTING_LABELS.items():
        if key not in settings:
            continue
        value = settings[key]
        if key == "duration" and isinstance(value, int):
            parts.append(f"{label} {value} s")
        elif isinstance(value, list):
            parts.append(f"{label} {', '.join(str(v) for v in value)}")
        else:
            parts.append(f"{label} {value}")
    return " · ".join(parts)


def video_card_html(saved: SavedVideo, status: str = "Completed") -> str:
    """One finished video as static HTML: mode, prompt, settings, task id, file, the player."""
    src = relative_src(saved.path)
    details = " · ".join(
        part
        for part in (
            status,
            settings_text(saved.settings),
            f"task id {html.escape(saved.task_id)}",
            f"file {html.escape(saved.path.as_posix())}",
        )
        if part
    )
    return (
        "<div class='omni-static-card' style='border:1px solid #d0d7de;padding:6px 12px;"
        "margin:6px 0;max-width:760px'>"
        f"<div><b>{html.escape(saved.mode)}</b> · <span class='omni-static-prompt'>"
        f"{html.escape(saved.prompt)}</span></div>"
        f"<div style='color:#57606a;font-size:12px'>{details}</div>"
        f"<video src='{src}' controls loop preload='metadata' style='{VIDEO_STYLE}'>"
        f"<a href='{src}'>{html.escape(saved.path.name)}</a></video></div>"
    )


def note_html(text: str) -> str:
    """A line of static text in the twin (for tasks that did not end with a video)."""
    return (
        "<div class='omni-static-card' style='border:1px solid #d0d7de;padding:6px 12px;"
        f"margin:6px 0;max-width:760px;color:#57606a'>{html.escape(text)}</div>"
    )


class StaticTwin:
    """A ``text/html`` output kept in step with a live widget, shown only without a kernel.

    ``live_style()`` goes into the widget (an ``HTML`` child): while the widget renders it hides
    the twin. ``show()`` displays the twin in the current cell; ``update()`` rewrites every copy.
    """

    def __init__(self) -> None:
        self.uid = f"omni-static-{uuid.uuid4().hex[:12]}"
        self._body = ""
        self._shown = False

    def live_style(self) -> str:
        """CSS for the live widget: hide this twin's output (and its prompt column)."""
        return f"<style>.jp-OutputArea-child:has(.{self.uid}),.{self.uid}{{display:none}}</style>"

    def bundle(self) -> dict[str, str]:
        # Without a kernel the widget output just before the twin shows an error line: hide it.
        hide_error = (
            "<style>.jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets)"
            f":has(+ .jp-OutputArea-child .{self.uid}){{display:none}}</style>"
        )
        return {
            "text/html": f"<div class='omni-static {self.uid}'>{hide_error}{self._body}</div>",
            "text/plain": _plain(self._body),
        }

    def show(self, body: str) -> None:
        """Display the twin here (a widget shown twice gets two copies, updated together)."""
        self._body = body
        display(self.bundle(), raw=True, display_id=self.uid)  # type: ignore[no-untyped-call]
        self._shown = True

    def update(self, body: str) -> None:
        if body == self._body:
            return
        self._body = body
        if self._shown:
            with contextlib.suppress(Exception):  # no front end (plain Python): nothing to update
                display(  # type: ignore[no-untyped-call]
                    self.bundle(), raw=True, display_id=self.uid, update=True
                )


def _plain(body: str) -> str:
    """A text form of the twin for viewers without HTML (prompts, ids and files stay readable)."""
    text = re.sub(r"<(video|style)\b.*?</\1>", " ", body, flags=re.S)
    text = re.sub(r"</div>", "\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())
