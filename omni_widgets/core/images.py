"""Turn the many ways a user can give an image into what the service accepts, checked locally."""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
import struct
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MIN_SIDE, MAX_SIDE = 240, 7680
FORMATS = ("png", "jpeg", "webp")

_DATA_URL = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?);base64,(?P<data>.*)$", re.S
)
_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}\s*$")


class ImageProblem(ValueError):
    """An image input that cannot be sent; the message says what is allowed."""


def is_http_url(value: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def sniff_format(data: bytes) -> str | None:
    """The image format named by the magic bytes, if it is one the service takes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def dimensions(data: bytes, fmt: str) -> tuple[int, int] | None:
    """Width and height read from the file header, or None where the header is not readable."""
    try:
        if fmt == "png":
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if fmt == "webp":
            return _webp_size(data)
        if fmt == "jpeg":
            return _jpeg_size(data)
    except (struct.error, IndexError):
        return None
    return None


def normalize_image(value: Any) -> str:
    """Return an http(s) URL unchanged, or local image data as a checked data URL."""
    if isinstance(value, str) and is_http_url(value):
        return value.strip()
    return to_data_url(load_image_bytes(value))


def to_data_url(data: bytes) -> str:
    """Check image bytes (format, size, dimensions) and encode them as a data URL."""
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageProblem(f"not a png, jpeg or webp image (starts with {data[:8]!r})")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageProblem(f"{len(data) / 1e6:.1f} MB is larger than the 10 MB allowed")
    size = dimensions(data, fmt)
    if size and not all(MIN_SIDE <= side <= MAX_SIDE for side in size):
        raise ImageProblem(
            f"{size[0]}x{size[1]} px is outside the {MIN_SIDE}..{MAX_SIDE} px allowed per side"
        )
    return f"data:image/{fmt};base64,{base64.b64encode(data).decode('ascii')}"


def load_image_bytes(value: Any) -> bytes:
    """The raw bytes behind a path, bytes, data URL, bare base64 string or PIL image."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, os.PathLike):
        return _read_file(Path(value))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ImageProblem("empty string; give a URL, a file path, a data URL or base64")
        match = _DATA_URL.match(text)
        if match:
            return _b64decode(match.group("data"), "the data URL's base64 part")
        if text.startswith("data:"):
            raise ImageProblem("a data URL must look like data:image/png;base64,...")
        if _is_file(text):
            return _read_file(Path(text).expanduser())
        if len(text) >= 64 and _BASE64.match(text):
            return _b64decode(text, "the base64 string")
        raise ImageProblem("not an http(s) URL, an existing file, a data URL or base64 image data")
    if _is_pil_image(value):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return buffer.getvalue()
    raise ImageProblem(
        f"a {type(value).__name__} is not an image; give a URL, a path, bytes, a data URL, "
        "base64 or a PIL image"
    )


def describe_image(url: str) -> str:
    """A short, data-free description of an image input, for reprs and sidecars."""
    if not url.startswith("data:"):
        return url
    head, _, payload = url.partition(",")
    fmt = head[len("data:image/") :].split(";")[0] if head.startswith("data:image/") else "?"
    return f"<{fmt} image, {len(payload) * 3 // 4 / 1024:.0f} KB>"


def _is_file(text: str) -> bool:
    try:
        return Path(text).expanduser().is_file()
    except (OSError, ValueError):
        return False


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageProblem(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImageProblem(f"{what} is not valid base64") from None


def _is_pil_image(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "save")


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            index += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None
