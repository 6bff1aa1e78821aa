"""What ``generate`` returns: the finished task and its saved file, shown as a video."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .task import Task


@dataclass(frozen=True)
class Result:
    """A completed task and the path of its saved MP4."""

    task: Task
    path: Path

    def video_html(self, *, width: int = 480) -> str:
        """A ``<video>`` with the file embedded: plays in any front end and survives saving."""
        data = base64.b64encode(self.path.read_bytes()).decode("ascii")
        return (
            f'<video controls loop width="{width}" title="{html.escape(self.task.id)}">'
            f'<source src="data:video/mp4;base64,{data}" type="video/mp4"></video>'
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        bundle = {"text/plain": repr(self)}
        if self.path.is_file():
            caption = html.escape(f"{self.task.id} · {self.path}")
            bundle["text/html"] = f"{self.video_html()}<div><code>{caption}</code></div>"
        return bundle

    def __repr__(self) -> str:
        return f"Result(task={self.task.id!r}, path={str(self.path)!r})"
