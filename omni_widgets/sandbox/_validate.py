"""Create-request validation, written from the vendor's OpenAPI documents and kept apart from the
client's.

The sandbox checks requests on its own so that a validation bug in the client cannot hide behind the
same bug here. Known fields are checked strictly (a wrong type is refused, not coerced); unknown
fields are ignored, as the vendor's schemas do not forbid additional properties.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

T2V = "gemini-omni-flash-text-to-video"
I2V = "gemini-omni-flash-image-to-video"
REF = "gemini-omni-flash-reference-to-video"
EDIT = "gemini-omni-flash-video-edit"
MODELS = (T2V, I2V, REF, EDIT)

ASPECT_RATIOS = ("16:9", "9:16", "auto")
DEFAULT_DURATION = 10
DEFAULT_ASPECT_RATIO = "16:9"
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = 240, 7680
MAX_CALLBACK_URL = 2048
_IMAGE_COUNT = {I2V: (1, 1), REF: (1, 6)}

Duration = int | Literal["auto"]


class RequestError(Exception):
    """A request the vendor would refuse with 400 `invalid_request`; `param` names the culprit."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class InlineImage:
    """An image sent inside the request (data URL or bare base64), decoded."""

    data: bytes
    format: str
    size: tuple[int, int] | None


@dataclass(frozen=True)
class CreateRequest:
    """A create request that passed validation, with defaults applied."""

    model: str
    prompt: str
    duration: Duration | None  # None for video edit, which takes no duration
    aspect_ratio: str | None  # None for video edit
    image_urls: tuple[str, ...]
    images: tuple[InlineImage | None, ...]  # one per image_urls entry; None for http(s) URLs
    video_url: str | None
    callback_url: str | None
    resolution: str | None = None  # ToAPIs only; EvoLink has no such field


def validate_create(body: object, *, allow_loopback_callbacks: bool = False) -> CreateRequest:
    """Check a parsed JSON body against the model's documented rules; RequestError on the first."""
    if not isinstance(body, dict):
        raise RequestError(f"request body must be a JSON object, got {_show(body)}")
    model = body.get("model")
    if "model" not in body:
        raise RequestError("model is required", "model")
    if model not in MODELS:
        raise RequestError(f"model must be one of {', '.join(MODELS)}, got {_show(model)}", "model")
    assert isinstance(model, str)
    prompt = body.get("prompt")
    if "prompt" not in body:
        raise RequestError("prompt is required", "prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestError(f"prompt must be a non-empty string, got {_show(prompt)}", "prompt")

    duration: Duration | None = None
    aspect_ratio: str | None = None
    if model == EDIT:
        for name in ("duration", "aspect_ratio"):
            if name in body:
                raise RequestError(
                    f"{name} is not supported by {EDIT}; the output follows the input video", name
                )
    else:
        duration = _duration(body.get("duration", DEFAULT_DURATION))
        aspect_ratio = _aspect_ratio(body.get("aspect_ratio", DEFAULT_ASPECT_RATIO))

    image_urls: tuple[str, ...] = ()
    images: tuple[InlineImage | None, ...] = ()
    if model in _IMAGE_COUNT:
        image_urls = _image_urls(body, model)
        images = tuple(_image(value, f"image_urls[{i}]") for i, value in enumerate(image_urls))
    video_url = _video_url(body) if model == EDIT else None

    callback_url = body.get("callback_url")
    if "callback_url" in body:
        _check_callback_url(callback_url, allow_loopback=allow_loopback_callbacks)
    assert callback_url is None or isinstance(callback_url, str)
    return CreateRequest(
        model=model,
        prompt=prompt,
        duration=duration,
        aspect_ratio=aspect_ratio,
        image_urls=image_urls,
        images=images,
        video_url=video_url,
        callback_url=callback_url,
    )


def _show(value: object, limit: int = 80) -> str:
    """Show a received value in a message: as JSON, so "11" and 11 differ; cut when long."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _duration(value: object) -> Duration:
    if value == "auto":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and 3 <= value <= 10:
        return value
    raise RequestError(
        f"duration must be an integer 3..10 or 'auto', got {_show(value)}", "duration"
    )


def _aspect_ratio(value: object) -> str:
    if isinstance(value, str) and value in ASPECT_RATIOS:
        return value
    raise RequestError(
        f"aspect_ratio must be one of '16:9', '9:16', 'auto', got {_show(value)}", "aspect_ratio"
    )


def _media_list(
    body: dict[str, object], field: str, model: str, count: tuple[int, int], noun: str, held: str
) -> list[Any]:
    """The array `field` of the body, present and holding `count` (low, high) entries.

    `noun` names one entry when the field is missing, `held` the entries when there are too many.
    """
    low, high = count
    wanted = "exactly 1" if low == high else f"{low}..{high}"
    if field not in body:
        raise RequestError(f"{field} is required for {model} ({wanted} {noun})", field)
    value = body[field]
    if not isinstance(value, list):
        raise RequestError(f"{field} must be an array of strings, got {_show(value)}", field)
    if not low <= len(value) <= high:
        raise RequestError(
            f"{field} must hold {wanted} {held} for {model}, got {len(value)}", field
        )
    return value


def _image_urls(body: dict[str, object], model: str) -> tuple[str, ...]:
    value = _media_list(body, "image_urls", model, _IMAGE_COUNT[model], "image", "image(s)")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise RequestError(f"image_urls[{i}] must be a string, got {_show(item)}", "image_urls")
    return tuple(value)


_DATA_URL = re.compile(r"^data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*),(?P<data>.*)$", re.DOTALL)
_SUPPORTED_MIME = {"image/png", "image/jpeg", "image/jpg", "image/webp"}


def _image(value: str, where: str) -> InlineImage | None:
    """Check one image entry; return it decoded when inline, None for an http(s) URL."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value):
        if _is_http_url(value):
            return None
        raise _not_an_image(where, value)
    if value.startswith("data:"):
        match = _DATA_URL.match(value)
        if match is None or ";base64" not in match["params"].lower():
            raise RequestError(
                f"{where} must be a base64 data URL (data:image/<format>;base64,...)", "image_urls"
            )
        mime = match["mime"].lower()
        if mime and mime not in _SUPPORTED_MIME:
            raise _unsupported(where, mime)
        payload = match["data"]
    else:
        payload = value
    data = _b64decode(payload)
    if data is None:
        raise _not_an_image(where, value)
    if len(data) > MAX_IMAGE_BYTES:
        raise RequestError(
            f"{where} file size exceeds 10MB ({len(data) / 1048576:.1f} MB)", "image_urls"
        )
    fmt = _sniff(data)
    if fmt == "unknown":
        raise _not_an_image(where, value)
    if fmt not in ("png", "jpeg", "webp"):
        raise _unsupported(where, fmt)
    size = _image_size(data)
    if size is not None and not all(MIN_IMAGE_SIDE <= side <= MAX_IMAGE_SIDE for side in size):
        raise RequestError(
            f"{where} image dimensions must be between {MIN_IMAGE_SIDE} and {MAX_IMAGE_SIDE} "
            f"pixels, got {size[0]}x{size[1]}",
            "image_urls",
        )
    return InlineImage(data=data, format=fmt, size=size)


def _not_an_image(where: str, value: str) -> RequestError:
    return RequestError(
        f"{where} must be an http(s) URL, a data:image/...;base64 URL or base64 image data "
        f"(png, jpeg or webp), got {_show(value)}",
        "image_urls",
    )


def _unsupported(where: str, kind: str) -> RequestError:
    return RequestError(
        f"{where} has an unsupported file type ({kind}); use png, jpeg or webp", "image_urls"
    )


def _b64decode(text: str) -> bytes | None:
    compact = re.sub(r"\s+", "", text)
    if not compact:
        return None
    compact += "=" * (-len(compact) % 4)
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data or None


def _sniff(data: bytes) -> str:
    """Name an image format from its magic bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"GIF8",):
        return "gif"
    if data[4:8] == b"ftyp":
        brand = data[8:12].decode("ascii", "replace").strip()
        return {"heic": "heic", "heix": "heic", "mif1": "heif", "avif": "avif"}.get(brand, brand)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:2] == b"BM":
        return "bmp"
    return "unknown"


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the image header, or None when Pillow cannot read it."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return int(image.width), int(image.height)
    except Exception:
        return None


def _is_http_url(value: str) -> bool:
    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _video_url(body: dict[str, object]) -> str:
    url = _media_list(body, "video_urls", EDIT, (1, 1), "video", "video")[0]
    if not isinstance(url, str) or not _is_http_url(url):
        raise RequestError(
            f"video_urls[0] must be an http(s) URL of an mp4 video, got {_show(url)}", "video_urls"
        )
    return url


def _check_callback_url(value: object, *, allow_loopback: bool) -> None:
    if not isinstance(value, str):
        raise RequestError(f"callback_url must be a string, got {_show(value)}", "callback_url")
    if len(value) > MAX_CALLBACK_URL:
        raise RequestError(
            f"callback_url must be at most {MAX_CALLBACK_URL} characters, got {len(value)}",
            "callback_url",
        )
    if not _is_http_url(value):
        raise RequestError(f"callback_url must be an https URL, got {_show(value)}", "callback_url")
    parts = urlsplit(value)
    host = parts.hostname or ""
    kind = host_kind(host)
    if kind == "loopback" and allow_loopback:
        return
    if kind is not None:
        raise RequestError(
            "callback_url must not point to a loopback, private, link-local or unspecified "
            f"address, got host {_show(host)}",
            "callback_url",
        )
    # With loopback callbacks allowed, http may still be fine: it is, if the name resolves only to
    # loopback addresses, which the caller checks after resolving it (see _callbacks.py).
    if parts.scheme.lower() != "https" and not allow_loopback:
        raise RequestError(
            f"callback_url must use https, got {_show(parts.scheme + '://')}", "callback_url"
        )


def host_kind(host: str) -> Literal["loopback", "internal"] | None:
    """Classify a URL host: "loopback", "internal" (private, link-local...), or None (public)."""
    name = host.lower().rstrip(".").strip("[]")
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback"
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        # Legacy IPv4 spellings such as 127.1, 0x7f000001 or 2130706433 reach the same hosts.
        if not re.fullmatch(r"[0-9a-fx.]+", name):
            return None
        try:
            ip = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if not ip.is_global or ip.is_multicast:
        return "internal"
    return None
