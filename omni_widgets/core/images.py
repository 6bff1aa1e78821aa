"""Turn the many ways a user can give an image into what the service accepts, checked locally.

Every check is linear in the input's size, and a file is opened only after ``os.stat`` shows a
regular file within the size limit (a FIFO or a device is never opened: it could block forever).
"""

from __future__ import annotations

import base64
import binascii
import errno
import io
import os
import stat
import struct
import sys
from typing import Any

from .errors import short_repr
from .texts import is_http_url, text_problem, type_name, url_problem

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MIN_SIDE, MAX_SIDE = 240, 7680
FORMATS = ("png", "jpeg", "webp")

IMAGE_INPUTS = (
    "an http(s) URL, a path to a png/jpeg/webp file, bytes, a data URL, base64 text or a PIL image"
)
IMAGE_FORMATS = "a png, jpeg or webp image"
IMAGE_SIZE = f"at most 10 MB ({MAX_IMAGE_BYTES:,} bytes)"
IMAGE_SIDES = f"{MIN_SIDE}..{MAX_SIDE} px per side"
DATA_URL_FORM = "a data URL like data:image/png;base64,..."

_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_DROP_B64 = str.maketrans("", "", _B64_ALPHABET)
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class ImageProblem(ValueError):
    """An image input that cannot be sent: what is wrong with it, and what is allowed."""

    def __init__(self, wrong: str, allowed: str = IMAGE_INPUTS) -> None:
        super().__init__(f"{wrong}; allowed: {allowed}")
        self.wrong = wrong
        self.allowed = allowed


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
    """Return an http(s) URL unchanged, or local image data as a checked data URL.

    A data URL this module made is returned as it is, without decoding it again (see
    :data:`_CHECKED`): the panel rebuilds its request on every field change.
    """
    if isinstance(value, str):
        if value in _CHECKED:
            return value
        text = value.strip()
        if text[:8].lower().startswith(("http://", "https://")):
            problem = url_problem(text)
            if problem:
                raise ImageProblem(problem, "an http(s) URL without spaces or control characters")
            return text
    return to_data_url(load_image_bytes(value))


def to_data_url(data: bytes) -> str:
    """Check image bytes (format, size, dimensions) and encode them as a data URL."""
    fmt = sniff_format(data)
    if fmt is None:
        start = "empty" if not data else f"starts with {data[:8]!r}"
        raise ImageProblem(f"not a png, jpeg or webp image ({start})", IMAGE_FORMATS)
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageProblem(f"{_byte_count(len(data))} is too large", IMAGE_SIZE)
    size = dimensions(data, fmt)
    if size is None:
        raise ImageProblem(
            f"a {fmt} image whose width and height cannot be read (truncated or damaged)",
            f"a complete png, jpeg or webp image, {IMAGE_SIDES}",
        )
    _check_sides(*size)
    url = f"data:image/{fmt};base64,{base64.b64encode(data).decode('ascii')}"
    _CHECKED.add(url)
    return url


class _CheckedURLs:
    """The data URLs :func:`to_data_url` produced lately, up to a total size, oldest dropped first.

    Looking one up costs nothing for the same string object (its hash is cached and equality
    starts with identity), so a request rebuilt from a kept data URL skips decoding and encoding.
    """

    def __init__(self, max_chars: int) -> None:
        self._urls: dict[str, None] = {}
        self._chars = 0
        self._max_chars = max_chars

    def __contains__(self, url: object) -> bool:
        return url in self._urls

    def add(self, url: str) -> None:
        if url in self._urls or len(url) > self._max_chars:
            return
        self._urls[url] = None
        self._chars += len(url)
        while self._chars > self._max_chars:
            oldest = next(iter(self._urls))
            del self._urls[oldest]
            self._chars -= len(oldest)


# Room for six images of the largest size (10 MB is about 13.4 M characters as base64) twice.
_CHECKED = _CheckedURLs(12 * (MAX_IMAGE_BYTES * 4 // 3 + 64))


def load_image_bytes(value: Any) -> bytes:
    """The raw bytes behind a path, bytes, data URL, bare base64 string or PIL image."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _limited(bytes(value))
    if isinstance(value, str):
        return _text_bytes(value)
    if isinstance(value, os.PathLike):
        return _read_file(_fspath(value))
    if _is_pil_image(value):
        return _pil_png(value)
    raise ImageProblem(f"{type_name(value)} is not an image")


def describe_image(url: str) -> str:
    """A short, data-free description of an image input, for reprs and sidecars."""
    if not url.startswith("data:"):
        return url
    head, _, payload = url.partition(",")
    fmt = head[len("data:image/") :].split(";")[0] if head.startswith("data:image/") else "?"
    return f"<{fmt} image, {len(payload) * 3 // 4 / 1024:.0f} KB>"


# --- strings ------------------------------------------------------------------------------


def _text_bytes(value: str) -> bytes:
    text = value.strip()
    if not text:
        raise ImageProblem("empty text")
    if text[:5].lower() == "data:":
        return _data_url_bytes(text)
    problem = text_problem(text)
    if problem:
        raise ImageProblem(problem)
    path = _expanded(text)
    info = _stat(path)
    if info is not None:
        return _read_file(path, info)
    if _looks_like_base64(text):
        return _b64decode(text, "the base64 text")
    if text.startswith("~") and path == text:
        user = text[1:].split("/", 1)[0].split(os.sep, 1)[0]
        raise ImageProblem(f"{short_repr(text)}: there is no user {user!r} to expand ~{user}")
    if is_http_url(text):  # another scheme's URL that urlsplit still reads
        raise ImageProblem(f"{short_repr(text)} is not an http(s) URL")
    raise ImageProblem(
        f"{short_repr(text)} is not an http(s) URL, an existing file, a data URL or base64"
    )


def _data_url_bytes(text: str) -> bytes:
    comma = text.find(",")
    if comma < 0:
        raise ImageProblem("a data URL without a comma before its data", DATA_URL_FORM)
    params = [p.strip().lower() for p in text[5:comma].split(";")]
    if params[0] and not params[0].startswith("image/"):
        raise ImageProblem(f"a data URL of {short_repr(params[0])}, not of an image", DATA_URL_FORM)
    if "base64" not in params[1:]:
        raise ImageProblem("a data URL that is not base64-encoded", DATA_URL_FORM)
    return _b64decode(text[comma + 1 :], "the data URL's base64 part")


def _looks_like_base64(text: str) -> bool:
    compact = "".join(text.split())
    body = compact.rstrip("=")
    return len(compact) >= 64 and len(compact) - len(body) <= 2 and not body.translate(_DROP_B64)


def _b64decode(text: str, what: str) -> bytes:
    compact = "".join(text.split())
    if len(compact) // 4 * 3 > MAX_IMAGE_BYTES + 3:
        raise ImageProblem(
            f"{what} holds {_byte_count(len(compact) // 4 * 3)}, too many", IMAGE_SIZE
        )
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageProblem(f"{what} is not valid base64 ({exc})", DATA_URL_FORM) from None


# --- files --------------------------------------------------------------------------------


def _fspath(value: os.PathLike[Any]) -> str:
    try:
        path = os.fspath(value)
    except Exception as exc:  # a user's PathLike may fail in any way
        raise ImageProblem(f"{type_name(value)} whose path cannot be read ({exc})") from None
    text = os.fsdecode(path) if isinstance(path, bytes) else path
    if not isinstance(text, str) or not text:
        raise ImageProblem(f"{type_name(value)} with an empty path")
    return _expanded(text)


def _expanded(path: str) -> str:
    try:
        return os.path.expanduser(path)
    except (KeyError, RuntimeError, ValueError):  # no home directory, or an odd user name
        return path


def _stat(path: str) -> os.stat_result | None:
    """The path's status, or None when nothing is there (or it cannot be a path at all)."""
    try:
        return os.stat(path)
    except (ValueError, FileNotFoundError, NotADirectoryError):
        return None  # embedded NUL or lone surrogate, or no such file
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:  # text, not a path
            return None
        raise ImageProblem(f"{_path_label(path)} cannot be read ({exc.strerror or exc})") from None


def _read_file(path: str, info: os.stat_result | None = None) -> bytes:
    """The file's bytes; only a regular file within the size limit is ever opened."""
    if info is None:
        info = _stat(path)
        if info is None:
            raise ImageProblem(f"{_path_label(path)} does not exist", "a path to an existing file")
    _check_regular(path, info)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ImageProblem(f"{_path_label(path)} cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as file:
        opened = os.fstat(file.fileno())
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            _check_regular(path, opened)  # replaced between stat and open
        try:
            data = file.read(MAX_IMAGE_BYTES + 1)
        except OSError as exc:
            raise ImageProblem(f"{_path_label(path)} cannot be read ({exc.strerror})") from None
    return _limited(data, path)


def _path_label(path: str) -> str:
    """The path in quotes; a long one keeps its end, where the file name is."""
    return repr(path) if len(path) <= 120 else repr("..." + path[-100:])


def _check_regular(path: str, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "not a file")
        raise ImageProblem(f"{_path_label(path)} is {kind}", "a path to a regular image file")
    if info.st_size > MAX_IMAGE_BYTES:
        raise ImageProblem(
            f"{_path_label(path)}: {_byte_count(info.st_size)} is too large", IMAGE_SIZE
        )


def _limited(data: bytes, path: str | None = None) -> bytes:
    if len(data) > MAX_IMAGE_BYTES:
        where = f"{_path_label(path)}: " if path else ""
        raise ImageProblem(f"{where}{_byte_count(len(data))} is too large", IMAGE_SIZE)
    return data


def _byte_count(size: int) -> str:
    return f"{size:,} bytes"


def _check_sides(width: int, height: int) -> None:
    if not all(MIN_SIDE <= side <= MAX_SIDE for side in (width, height)):
        raise ImageProblem(f"{width}x{height} px is outside the range", IMAGE_SIDES)


# --- PIL images ---------------------------------------------------------------------------


def _is_pil_image(value: Any) -> bool:
    module = sys.modules.get("PIL.Image")
    image_class = getattr(module, "Image", None)
    return isinstance(image_class, type) and isinstance(value, image_class)


def _pil_png(image: Any) -> bytes:
    """A PNG of the image; modes PNG cannot hold, or the service may not read, are converted."""
    mode = getattr(image, "mode", "?")
    try:
        width, height = image.size
    except Exception as exc:  # a broken image object
        raise ImageProblem(f"a PIL image without a readable size ({exc})") from None
    _check_sides(width, height)
    try:
        buffer = io.BytesIO()
        _sendable(image).save(buffer, format="PNG")
    except Exception as exc:  # Pillow raises many kinds (OSError, ValueError, KeyError...)
        raise ImageProblem(
            f"a PIL image of mode {mode!r} could not be converted to PNG ({exc})",
            "a PIL image that Pillow can convert to RGB or RGBA",
        ) from None
    return _limited(buffer.getvalue())


def _sendable(image: Any) -> Any:
    """The image in a mode every PNG reader takes: RGB(A) or 8-bit grey (with alpha)."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if mode in ("I", "F") or mode.startswith("I;"):
        return _stretched_to_grey(image)
    has_alpha = "A" in mode or "a" in mode or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _stretched_to_grey(image: Any) -> Any:
    """16/32-bit integer or float pixels, mapped linearly from their own range onto 0..255."""
    if image.mode != "F":
        image = image.convert("I")
    low, high = image.getextrema()
    scale = 255.0 / (high - low) if high > low else 0.0
    return image.point(lambda v: v * scale - low * scale).convert("L")


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
