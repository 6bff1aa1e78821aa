"""Still frames of saved videos as small JPEGs: gallery posters, contact sheets for reports.

Decoding needs PyAV and Pillow (the ``sandbox`` extra); without them every function answers None
or nothing, and callers fall back to the video itself. A poster is extracted once and cached
beside its video as ``NAME.poster.jpg``.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger("omni_widgets")

POSTER_WIDTH = 320
POSTER_SUFFIX = ".poster.jpg"


def poster_path(video: Path) -> Path:
    """Where a video's poster is cached: beside it, ``NAME.poster.jpg``."""
    return video.with_name(video.stem + POSTER_SUFFIX)


def poster(video: Path) -> Path | None:
    """The video's poster JPEG (its first frame, 320 px wide), made once; None if it cannot be."""
    cached = poster_path(video)
    try:
        if cached.is_file() and cached.stat().st_mtime >= video.stat().st_mtime:
            return cached
    except OSError:
        return None
    shots = frames(video, 1)
    if not shots:
        return None
    jpeg = shots[0]
    temporary = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(jpeg)
        os.replace(temporary, cached)
    except OSError as exc:
        logger.info("poster of %s not cached: %s", video, exc)
        temporary.unlink(missing_ok=True)
        return None
    return cached


def frames(video: Path, count: int, width: int = POSTER_WIDTH) -> list[bytes]:
    """``count`` JPEG frames spread evenly over the video (the first one first); [] on failure."""
    try:
        import av
    except ImportError:
        return []
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            duration = _seconds(container, stream)
            times = [duration * i / count for i in range(count)] if duration else [0.0]
            shots: list[bytes] = []
            for at in times:
                image = _frame_at(container, stream, at)
                if image is None:
                    break
                shots.append(_jpeg(image, width))
            return shots
    except Exception as exc:  # a damaged or foreign file: no frames, no crash
        logger.info("no frames from %s: %s: %s", video, type(exc).__name__, exc)
        return []


def _seconds(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return float(container.duration or 0) / 1_000_000


def _frame_at(container: Any, stream: Any, at: float) -> Any:
    """The first frame at or after ``at`` seconds, as a PIL image."""
    if at > 0 and stream.time_base:
        container.seek(int(at / stream.time_base), stream=stream, backward=True)
    for frame in container.decode(stream):
        if frame.time is None or frame.time + 1e-3 >= at:
            return frame.to_image()
    return None


def _jpeg(image: Any, width: int) -> bytes:
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()
