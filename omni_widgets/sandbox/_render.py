"""Render the stand-in video: a real H.264 + AAC MP4 (faststart) that shows the prompt, moves and
sings.

Every clip draws the prompt's words over the input image or a colour picked from the prompt,
moves a ball across the frame, and plays a tone whose pitch derives from the prompt, so a person can
tell clips apart. A reference-to-video clip shows every image it was given: each fills the frame in
turn, and a strip of thumbnails of all of them (the current one outlined) stays at the right edge.
PyAV, numpy and Pillow are imported on first use to keep `import omni_widgets.sandbox` light.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ._validate import EDIT, REF, CreateRequest

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

FPS = 24
SAMPLE_RATE = 44100
AUTO_DURATION = 6
EDIT_DURATION = 6
LANDSCAPE = (640, 360)
PORTRAIT = (360, 640)
# Long side x short side per resolution the sandbox can render: the small default keeps tests
# and demos fast; the others are the sizes the services deliver.
RESOLUTIONS = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}
DEFAULT_RESOLUTION = "360p"
# superfast: about twice as fast as veryfast for a few percent more bytes, which a stand-in clip
# can spare (the media cache renders a hundred of them when a batch completes).
X264_OPTIONS = {"preset": "superfast", "crf": "30", "tune": "stillimage"}
_LABELS = {
    "gemini-omni-flash-text-to-video": "text-to-video",
    "gemini-omni-flash-image-to-video": "image-to-video",
    "gemini-omni-flash-reference-to-video": "reference-to-video",
    EDIT: "video edit",
}


@dataclass(frozen=True)
class VideoSpec:
    """Everything that decides a clip's pixels and sound."""

    width: int
    height: int
    duration: int
    text: str
    label: str
    image: bytes | None = None
    references: tuple[bytes, ...] = ()  # reference-to-video: every inline image, shown in turn

    @property
    def digest(self) -> bytes:
        """A hash of the prompt text that picks the colour and the pitch."""
        return hashlib.sha256(self.text.encode()).digest()

    @property
    def pitch(self) -> float:
        """Tone frequency in Hz: one of 25 semitones from A3 (220 Hz) to A5 (880 Hz)."""
        return 220.0 * 2 ** (self.digest[0] % 25 / 12)


def plan_video(
    request: CreateRequest, text: str, resolution: str = DEFAULT_RESOLUTION
) -> VideoSpec:
    """Decide the output size and length; `auto` means 6 s and the input image's orientation.

    `resolution` (a key of RESOLUTIONS) sets the size of the long and short sides.
    """
    long, short = RESOLUTIONS[resolution]
    landscape, portrait = (long, short), (short, long)
    first = request.images[0] if request.images else None
    image = first.data if first is not None else None
    if request.model == EDIT:
        return VideoSpec(*landscape, EDIT_DURATION, text, _LABELS[EDIT], None)
    if request.aspect_ratio == "9:16":
        size = portrait
    elif request.aspect_ratio == "auto" and first is not None and first.size is not None:
        size = portrait if first.size[1] > first.size[0] else landscape
    else:
        size = landscape
    duration = AUTO_DURATION if request.duration in (None, "auto") else int(request.duration or 0)
    references: tuple[bytes, ...] = ()
    if request.model == REF:
        references = tuple(item.data for item in request.images if item is not None)
    return VideoSpec(size[0], size[1], duration, text, _LABELS[request.model], image, references)


class RenderCancelled(Exception):
    """The server is stopping; the half-written file was removed."""


def render_mp4(spec: VideoSpec, path: Path, cancel: threading.Event | None = None) -> None:
    """Encode the clip to `path` (via a `.part` file renamed at the end: never half a file)."""
    import av
    import numpy as np

    bases = [np.asarray(picture, dtype=np.uint8).copy() for picture in _backgrounds(spec)]
    partial = path.with_name(path.name + ".part")
    container = av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"})
    try:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        video.options = dict(X264_OPTIONS)
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "mono"
        samples = _tone(spec)
        frames = spec.duration * FPS
        sent = 0
        for index in range(frames):
            if cancel is not None and cancel.is_set():
                raise RenderCancelled(str(path))
            base = bases[min(len(bases) - 1, index * len(bases) // frames)]
            frame = av.VideoFrame.from_ndarray(_animate(base, index, frames), format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
            # Interleave: feed the audio up to the end of this video frame.
            until = min(len(samples), (index + 1) * SAMPLE_RATE // FPS)
            while sent + 1024 <= until or (index == frames - 1 and sent < len(samples)):
                chunk = samples[sent : sent + 1024]
                block = av.AudioFrame.from_ndarray(
                    chunk.reshape(1, -1), format="fltp", layout="mono"
                )
                block.sample_rate, block.pts = SAMPLE_RATE, sent
                container.mux(audio.encode(block))
                sent += len(chunk)
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    except BaseException:
        container.close()
        partial.unlink(missing_ok=True)
        raise
    container.close()
    os.replace(partial, path)


def _backgrounds(spec: VideoSpec) -> list[Image.Image]:
    """The still picture of each stretch of the clip: one, or one per reference image."""
    if len(spec.references) < 2:
        return [_background(spec)]
    thumbnails = [_decode(data) for data in spec.references]
    pictures = []
    for current, data in enumerate(spec.references):
        picture = _background(replace(spec, image=data))
        _draw_strip(picture, thumbnails, current)
        pictures.append(picture)
    return pictures


def _draw_strip(canvas: Image.Image, thumbnails: list[Image.Image | None], current: int) -> None:
    """Thumbnails of all reference images along the right edge, the current one outlined."""
    from PIL import ImageDraw

    side = max(16, min(canvas.height // 6, (canvas.height - 60) // max(1, len(thumbnails)) - 6))
    left = canvas.width - side - 8
    draw = ImageDraw.Draw(canvas)
    for index, thumbnail in enumerate(thumbnails):
        top = 40 + index * (side + 6)
        if thumbnail is not None:
            canvas.paste(_cover(thumbnail, side, side), (left, top))
        outline = (255, 230, 120) if index == current else (0, 0, 0)
        box = [left - 2, top - 2, left + side + 1, top + side + 1]
        draw.rectangle(box, outline=outline, width=2)


def _background(spec: VideoSpec) -> Image.Image:
    """The still part of every frame: image or colour, the label and the prompt's words."""
    from PIL import Image, ImageDraw, ImageFont

    hue = spec.digest[1] / 255
    colour = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.55, 0.45))
    canvas = Image.new("RGB", (spec.width, spec.height), colour)
    picture = _decode(spec.image)
    if picture is not None:
        canvas.paste(_cover(picture, spec.width, spec.height))
    elif spec.label == _LABELS[EDIT]:
        draw = ImageDraw.Draw(canvas)
        for x in range(-spec.height, spec.width, 40):
            draw.line([(x, spec.height), (x + spec.height, 0)], fill=_lighter(colour), width=6)
    draw = ImageDraw.Draw(canvas, "RGBA")
    size = max(14, spec.width // 24)
    font = ImageFont.load_default(size=size)
    small = ImageFont.load_default(size=max(11, size * 2 // 3))
    lines = _wrap(spec.text or "(empty prompt)", font, spec.width - 2 * size, max_lines=6)
    height = len(lines) * (size + 6) + size
    top = spec.height - height - size * 2
    draw.rectangle([0, top, spec.width, spec.height], fill=(0, 0, 0, 150))
    for i, line in enumerate(lines):
        draw.text((size, top + size // 2 + i * (size + 6)), line, font=font, fill=(255, 255, 255))
    header = f"omni-widgets sandbox · {spec.label} · {spec.duration} s · {round(spec.pitch)} Hz"
    draw.rectangle([0, 0, spec.width, size + 12], fill=(0, 0, 0, 150))
    draw.text((size // 2, 6), header, font=small, fill=(255, 230, 120))
    return canvas


def _lighter(colour: tuple[int, ...]) -> tuple[int, int, int]:
    red, green, blue = (min(255, c + 40) for c in colour[:3])
    return red, green, blue


def _decode(data: bytes | None) -> Image.Image | None:
    if data is None:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.convert("RGB")
    except Exception:
        return None


def _cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scale and centre-crop an image to fill width x height."""
    scale = max(width / image.width, height / image.height)
    resized = image.resize(
        (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    )
    left, top = (resized.width - width) // 2, (resized.height - height) // 2
    return resized.crop((left, top, left + width, top + height))


def _wrap(text: str, font: object, width: int, *, max_lines: int) -> list[str]:
    measure = getattr(font, "getlength")  # noqa: B009 - FreeType and bitmap fonts both have it
    lines: list[str] = []
    for word in text.split():
        if lines and measure(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1] + " …"]
    return lines


def _animate(base: np.ndarray, index: int, frames: int) -> np.ndarray:
    """One frame: the background, a ball gliding across it and a progress bar along the bottom."""
    frame = base.copy()
    height, width = frame.shape[:2]
    radius = max(8, min(width, height) // 14)
    t = index / max(1, frames - 1)
    cx = radius + int((width - 2 * radius) * (0.5 - 0.5 * math.cos(2 * math.pi * t)))
    cy = height // 3 + int(height / 8 * math.sin(6 * math.pi * t))
    y0, y1 = max(0, cy - radius), min(height, cy + radius)
    x0, x1 = max(0, cx - radius), min(width, cx + radius)
    import numpy as np

    ys, xs = np.ogrid[y0:y1, x0:x1]
    mask = (ys - cy) ** 2 + (xs - cx) ** 2 <= radius**2
    frame[y0:y1, x0:x1][mask] = (255, 200, 40)
    frame[height - 6 :, : int(width * t)] = (255, 255, 255)
    return frame


def _tone(spec: VideoSpec) -> np.ndarray:
    """A sine at the prompt's pitch, pulsing twice a second, as float32 samples."""
    import numpy as np

    t = np.arange(spec.duration * SAMPLE_RATE) / SAMPLE_RATE
    envelope = 0.55 + 0.45 * np.cos(2 * np.pi * 2 * t)
    return (0.25 * envelope * np.sin(2 * np.pi * spec.pitch * t)).astype(np.float32)
