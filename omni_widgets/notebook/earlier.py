"""The earlier videos of a panel's folder, in the live panel: a re-run of the cell hides none.

They are read from the JSON sidecars beside the videos (``saved.read_folder``). The newest play at
once, up to a byte budget (each video's bytes go through the widget comm); older ones show their
prompt and path with a button that loads the video on demand.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from .saved import SavedVideo

#: At most this many earlier videos are listed, and at most this many bytes sent at once.
EARLIER_LISTED = 6
EARLIER_BYTES = 32 * 1024 * 1024
# Larger files are never pushed through the comm (ipywidgets#3036): path only.
MAX_INLINE_VIDEO = 64 * 1024 * 1024


def earlier_box(videos: list[SavedVideo], folder: str | Path) -> widgets.VBox:
    """A titled list of the folder's videos, newest first (empty when there are none)."""
    box = widgets.VBox()
    box.add_class("omni-earlier")
    if not videos:
        return box
    listed = videos[:EARLIER_LISTED]
    more = len(videos) - len(listed)
    title = widgets.HTML(
        f"<div style='font-weight:bold;margin-top:8px'>Earlier videos in "
        f"{html.escape(str(folder))}/</div>"
        + (f"<div style='font-size:12px;color:#57606a'>and {more} more there</div>" if more else "")
    )
    items: list[widgets.Widget] = [title]
    budget = EARLIER_BYTES
    for saved in listed:
        size = saved.path.stat().st_size
        load_now = size <= budget
        budget -= size if load_now else 0
        items.append(_entry(saved, size, load_now))
    box.children = tuple(items)
    return box


def _entry(saved: SavedVideo, size: int, load_now: bool) -> widgets.VBox:
    header = widgets.HTML(
        f"<div style='font-size:12px'><b>{html.escape(saved.mode)}</b> · "
        f"{html.escape(saved.prompt)}<br><span style='color:#57606a'>"
        f"{html.escape(saved.task_id)} · {html.escape(saved.path.as_posix())}</span></div>"
    )
    entry = widgets.VBox(
        [header],
        layout=widgets.Layout(border="1px solid #d0d7de", padding="4px 8px", margin="4px 0"),
    )
    if size > MAX_INLINE_VIDEO:
        return entry
    if load_now:
        entry.children = (header, _video(saved))
        return entry
    button = widgets.Button(description=f"Show video ({size / 1e6:.0f} MB)", icon="play")
    button.add_class("omni-earlier-load")

    def load(_: Any) -> None:
        entry.children = (header, _video(saved))

    button.on_click(load)
    entry.children = (header, button)
    return entry


def _video(saved: SavedVideo) -> widgets.Video:
    video = widgets.Video(
        value=saved.path.read_bytes(),
        format="mp4",
        autoplay=False,
        loop=True,
        controls=True,
        layout=widgets.Layout(max_width="320px", max_height="320px", width="auto"),
    )
    video.add_class("omni-earlier-video")
    return video
