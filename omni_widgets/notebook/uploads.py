"""The images field: file uploads and URLs, each with a thumbnail and a remove button.

Uploaded bytes are moved out of the FileUpload widget at once, so they are kept in kernel memory
(and in the thumbnail) but not left in the upload widget's synced state.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ipywidgets as widgets

from ..core.images import ImageProblem, describe_image, sniff_format, to_data_url
from ..core.texts import is_http_url

ACCEPT = "image/png,image/jpeg,image/webp,.png,.jpg,.jpeg,.webp"
THUMB_PX = 72


@dataclass(frozen=True)
class ImageItem:
    """One image the user gave: uploaded bytes (with the file name) or a URL."""

    name: str
    data: bytes | None = None
    url: str | None = None
    # The upload checked and encoded once, when added: every field change rebuilds the request,
    # which then reuses this data URL instead of encoding megabytes again.
    checked: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A bad upload stays raw bytes: the request reports it, at the field.
        if self.data is not None:
            with contextlib.suppress(ImageProblem):
                object.__setattr__(self, "checked", to_data_url(self.data))

    @property
    def value(self) -> bytes | str:
        """What the request gets: the checked data URL, the raw bytes or the URL text."""
        if self.checked is not None:
            return self.checked
        return self.data if self.data is not None else (self.url or "")


class ImagesField(widgets.VBox):
    """Upload png/jpeg/webp files or add URLs; shows a removable thumbnail per image."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.items: list[ImageItem] = []
        self._on_change = on_change
        self._counting = False
        self.upload = widgets.FileUpload(
            accept=ACCEPT,
            multiple=True,
            description="Upload images",
            tooltip="png, jpeg or webp; up to 10 MB, 240-7680 px per side",
            layout=widgets.Layout(width="auto"),
        )
        self.upload.add_class("omni-upload")
        self.upload.observe(self._on_upload, names="value")
        self.url = widgets.Text(
            placeholder="…or paste an image URL (https://…) and press Enter",
            continuous_update=False,
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        self.url.add_class("omni-image-url")
        self.url.observe(lambda _: self.add_url(), names="value")
        self.add_url_button = widgets.Button(
            description="Add URL", tooltip="Add the image URL", layout=widgets.Layout(width="auto")
        )
        self.add_url_button.on_click(lambda _: self.add_url())
        self.thumbs = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.thumbs.add_class("omni-thumbs")
        super().__init__(
            [
                widgets.HBox(
                    [self.upload, self.url, self.add_url_button],
                    layout=widgets.Layout(align_items="center"),
                ),
                self.thumbs,
            ]
        )

    def values(self) -> list[bytes | str]:
        """The images in order, as the request takes them."""
        return [item.value for item in self.items]

    def upload_names(self) -> dict[str, str]:
        """Each upload's file name by the request field it becomes (``image``, ``images[i]``)."""
        names = {f"images[{i}]": item.name for i, item in enumerate(self.items) if item.data}
        if len(self.items) == 1 and self.items[0].data is not None:
            names["image"] = self.items[0].name
        return names

    def add(self, item: ImageItem) -> None:
        """Append an image and show its thumbnail."""
        self.items.append(item)
        self._changed()

    def add_url(self) -> None:
        """Add what is in the URL box (if anything), then empty the box."""
        text = self.url.value.strip()
        if text:
            self.url.value = ""
            self.add(ImageItem(name=text, url=text))

    def remove(self, index: int) -> None:
        """Drop the image at ``index``."""
        del self.items[index]
        self._changed()

    def clear(self) -> None:
        self.items.clear()
        self._changed()

    def _on_upload(self, change: dict[str, Any]) -> None:
        if self._counting:
            return
        for file in change["new"]:
            self.items.append(ImageItem(name=str(file["name"]), data=bytes(file["content"])))
        self._changed()

    def _count_uploads(self) -> None:
        """Leave one empty entry per upload in the widget, so its "(N)" counts the uploads.

        The button shows the length of its value; the bytes themselves stay out of the
        synced state (they live in ``items``), and choosing the same file again still works.
        """
        stamp = datetime.now(UTC)
        entries = tuple(
            {"name": item.name, "type": "", "size": 0, "content": b"", "last_modified": stamp}
            for item in self.items
            if item.data is not None
        )
        self._counting = True
        try:
            self.upload.value = entries
        finally:
            self._counting = False

    def _changed(self) -> None:
        self._count_uploads()
        self.thumbs.children = tuple(
            _thumbnail(i, item, self.remove) for i, item in enumerate(self.items)
        )
        self._on_change()


def _thumbnail(index: int, item: ImageItem, remove: Callable[[int], None]) -> widgets.VBox:
    fmt = sniff_format(item.data) if item.data is not None else None
    size = widgets.Layout(width=f"{THUMB_PX}px", height=f"{THUMB_PX}px")
    picture: Any
    if item.data is not None and fmt is not None:
        picture = widgets.Image(value=item.data, format=fmt, layout=size)
        picture.layout.object_fit = "cover"
    else:
        label = "URL" if item.url and is_http_url(item.url) else "?"
        picture = widgets.HTML(
            f"<div style='width:{THUMB_PX}px;height:{THUMB_PX}px;display:flex;align-items:center;"
            f"justify-content:center;background:#f0f3f6;border-radius:4px;color:#57606a'>"
            f"{label}</div>"
        )
    name = item.name if len(item.name) <= 14 else item.name[:12] + "…"
    caption = widgets.HTML(
        f"<div style='font-size:11px;max-width:{THUMB_PX + 16}px;overflow:hidden' "
        f"title='{html.escape(describe_image(item.name))}'>{index + 1}. {html.escape(name)}</div>"
    )
    button = widgets.Button(
        description="Remove",
        icon="times",
        tooltip=f"Remove image {index + 1} ({item.name})",
        layout=widgets.Layout(width=f"{THUMB_PX + 16}px"),
    )
    button.add_class("omni-remove-image")
    button.on_click(lambda _: remove(index))
    box = widgets.VBox([picture, caption, button], layout=widgets.Layout(margin="4px 8px 4px 0"))
    box.add_class("omni-thumb")
    return box
