"""The four kinds of generation request, immutable and validated when they are built."""

from __future__ import annotations

import itertools
import math
import numbers
import operator
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .defaults import (
    ASPECT_RATIOS,
    DEFAULT_ASPECT_RATIO,
    DEFAULT_DURATION,
    MAX_DURATION,
    MAX_PROMPT_CHARS,
    MIN_DURATION,
    PROMPT_WARN_CHARS,
    Duration,
)
from .errors import LongPromptWarning, Problem, ValidationError, short_repr
from .images import ImageProblem, describe_image, normalize_image
from .pricing import estimate_credits
from .texts import host_address, split_url, text_problem, type_name, url_problem

__all__ = [
    "ASPECT_RATIOS",
    "DEFAULT_ASPECT_RATIO",
    "DEFAULT_DURATION",
    "MAX_CALLBACK_URL",
    "MAX_DURATION",
    "MAX_PROMPT_CHARS",
    "MAX_REFERENCES",
    "MIN_DURATION",
    "MODELS",
    "PROMPT_WARN_CHARS",
    "Duration",
    "ImageToVideo",
    "ReferenceToVideo",
    "Request",
    "TextToVideo",
    "VideoEdit",
    "callback_url_problem",
]

MAX_REFERENCES = 6
MAX_CALLBACK_URL = 2048

PROMPT_ALLOWED = f"a non-empty text describing the video, at most {MAX_PROMPT_CHARS:,} characters"
DURATION_ALLOWED = f"an integer {MIN_DURATION}..{MAX_DURATION} or 'auto'"
ASPECT_ALLOWED = "one of " + ", ".join(repr(a) for a in ASPECT_RATIOS)
CALLBACK_ALLOWED = f"a public https URL of at most {MAX_CALLBACK_URL} characters"
VIDEO_ALLOWED = "one http(s) URL of an MP4 video (its path ends in .mp4)"


@dataclass(frozen=True, repr=False)
class Request:
    """What every request has: a prompt and an optional HTTPS callback URL."""

    model: ClassVar[str]
    prompt: str

    def to_payload(self) -> dict[str, Any]:
        """The exact JSON body the vendor documents for this model."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The payload with image data replaced by a short description (for sidecars and logs)."""
        payload = self.to_payload()
        if "image_urls" in payload:
            payload["image_urls"] = [describe_image(url) for url in payload["image_urls"]]
        return payload

    @property
    def estimated_credits(self) -> float:
        """Credits the service is expected to reserve for this request (see core/pricing.py)."""
        return estimate_credits(self)

    def _validate(self, problems: list[Problem]) -> None:
        """Raise every problem together; warn (at the caller's line) about a long prompt."""
        if problems:
            raise ValidationError(type(self).__name__, problems)
        if len(self.prompt) > PROMPT_WARN_CHARS:
            warnings.warn(LongPromptWarning(len(self.prompt)), stacklevel=3)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={_repr_value(v)}" for k, v in self.describe().items() if k != "model"
        )
        return f"{type(self).__name__}({fields})"


@dataclass(frozen=True, repr=False)
class _Timed(Request):
    duration: Duration = DEFAULT_DURATION
    aspect_ratio: str = DEFAULT_ASPECT_RATIO
    callback_url: str | None = None
    #: The output resolution, on gateways that have one (ToAPIs: 720P, or 1080p with 16:9).
    resolution: str | None = None

    def _common_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "prompt": self.prompt,
            "duration": self.duration,
            "aspect_ratio": self.aspect_ratio,
        }
        if self.callback_url is not None:
            payload["callback_url"] = self.callback_url
        if self.resolution is not None:
            payload["resolution"] = self.resolution
        return payload

    def _set_common(
        self,
        prompt: Any,
        duration: Any,
        aspect_ratio: Any,
        callback_url: Any,
        resolution: Any = None,
    ) -> list[Problem]:
        """Store the shared fields (numbers as plain ints) and return their problems."""
        seconds, duration_problems = _checked_duration(duration)
        _set(
            self,
            prompt=_plain(prompt),
            duration=seconds,
            aspect_ratio=aspect_ratio,
            callback_url=_plain(callback_url),
            resolution=_plain(resolution),
        )
        return [
            *_prompt_problems(prompt),
            *duration_problems,
            *_aspect_problems(aspect_ratio),
            *_callback_problems(callback_url),
            *_resolution_problems(resolution),
        ]


@dataclass(frozen=True, repr=False, init=False)
class TextToVideo(_Timed):
    """A video with sound from a text prompt."""

    model: ClassVar[str] = "gemini-omni-flash-text-to-video"

    def __init__(
        self,
        prompt: str,
        *,
        duration: Duration = DEFAULT_DURATION,
        aspect_ratio: str = DEFAULT_ASPECT_RATIO,
        callback_url: str | None = None,
        resolution: str | None = None,
    ) -> None:
        self._validate(self._set_common(prompt, duration, aspect_ratio, callback_url, resolution))

    def to_payload(self) -> dict[str, Any]:
        return self._common_payload()


@dataclass(frozen=True, repr=False, init=False)
class ImageToVideo(_Timed):
    """A video that animates one image, guided by the prompt."""

    model: ClassVar[str] = "gemini-omni-flash-image-to-video"
    image: str = field(default="")
    #: The local file each image came from (None for URLs and in-memory data), for records.
    image_sources: tuple[str | None, ...] = field(default=(), compare=False)

    def __init__(
        self,
        prompt: str,
        image: Any,
        *,
        duration: Duration = DEFAULT_DURATION,
        aspect_ratio: str = DEFAULT_ASPECT_RATIO,
        callback_url: str | None = None,
        resolution: str | None = None,
    ) -> None:
        problems = self._set_common(prompt, duration, aspect_ratio, callback_url, resolution)
        if isinstance(image, (list, tuple)):
            problems.append(
                Problem("image", image, "exactly 1 image", f"{len(image)} images given")
            )
            normalized = ""
        else:
            normalized = _normalize("image", image, problems)
        _set(self, image=normalized, image_sources=(_source_path(image),))
        self._validate(problems)

    def to_payload(self) -> dict[str, Any]:
        return {**self._common_payload(), "image_urls": [self.image]}


@dataclass(frozen=True, repr=False, init=False)
class ReferenceToVideo(_Timed):
    """A video whose subjects or style follow 1 to 6 reference images."""

    model: ClassVar[str] = "gemini-omni-flash-reference-to-video"
    images: tuple[str, ...] = ()
    image_sources: tuple[str | None, ...] = field(default=(), compare=False)

    def __init__(
        self,
        prompt: str,
        images: Iterable[Any],
        *,
        duration: Duration = DEFAULT_DURATION,
        aspect_ratio: str = DEFAULT_ASPECT_RATIO,
        callback_url: str | None = None,
        resolution: str | None = None,
    ) -> None:
        problems = self._set_common(prompt, duration, aspect_ratio, callback_url, resolution)
        given = _image_list(images, problems)
        allowed = f"1 to {MAX_REFERENCES} images"
        if given is not None and not 1 <= len(given) <= MAX_REFERENCES:
            many: int | str = len(images) if isinstance(images, (list, tuple)) else len(given)
            if len(given) > MAX_REFERENCES and not isinstance(images, (list, tuple)):
                many = f"more than {MAX_REFERENCES}"
            problems.append(Problem("images", images, allowed, f"{many} images given"))
        normalized = tuple(
            _normalize(f"images[{i}]", image, problems) for i, image in enumerate(given or ())
        )
        _set(
            self,
            images=normalized,
            image_sources=tuple(_source_path(image) for image in given or ()),
        )
        self._validate(problems)

    def to_payload(self) -> dict[str, Any]:
        return {**self._common_payload(), "image_urls": list(self.images)}


@dataclass(frozen=True, repr=False, init=False)
class VideoEdit(Request):
    """An edit of an existing 3-10 s MP4 (by http(s) URL); the output keeps its length and shape."""

    model: ClassVar[str] = "gemini-omni-flash-video-edit"
    video_url: str = ""
    callback_url: str | None = None

    def __init__(self, prompt: str, video_url: str, *, callback_url: str | None = None) -> None:
        url = video_url.strip() if isinstance(video_url, str) else video_url
        _set(self, prompt=_plain(prompt), video_url=_plain(url), callback_url=_plain(callback_url))
        self._validate(
            [*_prompt_problems(prompt), *_video_problems(url), *_callback_problems(callback_url)]
        )

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "prompt": self.prompt,
            "video_urls": [self.video_url],
        }
        if self.callback_url is not None:
            payload["callback_url"] = self.callback_url
        return payload


MODELS: dict[str, type[Request]] = {
    cls.model: cls for cls in (TextToVideo, ImageToVideo, ReferenceToVideo, VideoEdit)
}


def _set(obj: Request, **values: Any) -> None:
    for name, value in values.items():
        object.__setattr__(obj, name, value)


def _plain(value: Any) -> Any:
    """A str subclass (numpy.str_, ...) as a plain str, so payloads and equality are ordinary."""
    return str.__str__(value) if isinstance(value, str) else value


def _normalize(name: str, image: Any, problems: list[Problem]) -> str:
    try:
        return normalize_image(image)
    except ImageProblem as exc:
        problems.append(Problem(name, image, exc.allowed, exc.wrong))
        return ""


def _source_path(image: Any) -> str | None:
    """The absolute path of an image given as a local file, else None."""
    if isinstance(image, str) and (image.startswith("data:") or len(image) > 4096):
        return None
    if not isinstance(image, (str, os.PathLike)):
        return None
    try:
        path = Path(image).expanduser()
        return str(path.absolute()) if path.is_file() else None
    except (OSError, ValueError, RuntimeError):
        return None


def _image_list(images: Any, problems: list[Problem]) -> list[Any] | None:
    """Up to one more than the allowed number of images (an endless iterator must not hang)."""
    if isinstance(images, (str, bytes, bytearray, memoryview)) or not isinstance(images, Iterable):
        return [images]
    try:
        return list(itertools.islice(images, MAX_REFERENCES + 1))
    except Exception as exc:  # a user's iterable may fail in any way
        wrong = f"{type_name(images)} that failed while being read ({type(exc).__name__})"
        problems.append(Problem("images", images, f"a list of 1 to {MAX_REFERENCES} images", wrong))
        return None


def _prompt_problems(prompt: Any) -> list[Problem]:
    wrong: str | None
    if prompt is None:
        wrong = "missing"
    elif not isinstance(prompt, str):
        wrong = f"{type_name(prompt)}, not text"
    elif not prompt.strip():
        wrong = "empty" if not prompt else "only white space"
    elif len(prompt) > MAX_PROMPT_CHARS:
        wrong = f"{len(prompt):,} characters is too long"
    else:
        wrong = text_problem(prompt)
    return [Problem("prompt", prompt, PROMPT_ALLOWED, wrong)] if wrong else []


def _checked_duration(duration: Any) -> tuple[Any, list[Problem]]:
    """The duration as ``'auto'`` or a plain int (numpy integers too), and its problems."""
    wrong: str
    if isinstance(duration, str):
        if duration == "auto":
            return duration, []
        hint = " (write the number without quotes)" if duration.strip().isdecimal() else ""
        wrong = f"{short_repr(duration)} is text{hint}"
    elif isinstance(duration, bool) or type(duration).__name__ in ("bool_", "bool"):
        wrong = f"{duration!r} is a boolean, not a number of seconds"
    elif isinstance(duration, numbers.Integral):
        seconds = operator.index(duration)
        if MIN_DURATION <= seconds <= MAX_DURATION:
            return seconds, []
        wrong = f"{short_repr(seconds)} is out of range"
    elif isinstance(duration, numbers.Real):
        number = float(duration)
        if math.isnan(number):
            wrong = "NaN is not a number of seconds"
        elif math.isinf(number):
            wrong = f"{number} is not a number of seconds"
        elif number.is_integer():
            wrong = f"{short_repr(duration)} is a float (write {int(number)})"
        else:
            wrong = f"{short_repr(duration)} is not a whole number of seconds"
    elif duration is None:
        wrong = "missing"
    else:
        wrong = f"{type_name(duration)} is not a number"
    return duration, [Problem("duration", duration, DURATION_ALLOWED, wrong)]


def _aspect_problems(aspect_ratio: Any) -> list[Problem]:
    if isinstance(aspect_ratio, str) and aspect_ratio in ASPECT_RATIOS:
        return []
    if aspect_ratio is None:
        wrong = "missing"
    elif isinstance(aspect_ratio, str):
        wrong = f"{short_repr(aspect_ratio)} is not offered"
    else:
        wrong = f"{type_name(aspect_ratio)}, not text"
    return [Problem("aspect_ratio", aspect_ratio, ASPECT_ALLOWED, wrong)]


def _resolution_problems(resolution: Any) -> list[Problem]:
    """Only the type here: which resolutions exist is the gateway's limit."""
    if resolution is None or (isinstance(resolution, str) and resolution.strip()):
        return []
    wrong = "empty" if isinstance(resolution, str) else f"{type_name(resolution)}, not text"
    allowed = "a resolution such as '720P' (on gateways that have one), or None"
    return [Problem("resolution", resolution, allowed, wrong)]


def _callback_problems(url: Any) -> list[Problem]:
    if url is None:
        return []
    reason = callback_url_problem(url)
    return [Problem("callback_url", url, CALLBACK_ALLOWED, reason)] if reason else []


def callback_url_problem(url: Any) -> str | None:
    """What the service would refuse in this callback URL, or None if it is acceptable."""
    if isinstance(url, str) and len(url) > MAX_CALLBACK_URL:
        return f"{len(url):,} characters is too long"
    parts, problem = split_url(url)
    if parts is None:
        return problem
    if parts.scheme.lower() != "https":
        return f"{short_repr(url)} is not an https URL"
    if not parts.hostname:
        return f"{short_repr(url)} has no host name"
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"{short_repr(url)} points to localhost"
    address = host_address(host)
    if address is not None and (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
        or address.is_multicast
    ):
        return f"{short_repr(url)} points to a loopback, private or link-local address"
    return None


def _video_problems(url: Any) -> list[Problem]:
    if isinstance(url, (list, tuple)):
        wrong: str | None = f"{len(url)} URLs in a {type(url).__name__}"
    elif url is None:
        wrong = "missing"
    else:
        wrong = url_problem(url)
        if wrong is None:
            parts, _ = split_url(url)
            if parts is not None and not parts.path.lower().endswith(".mp4"):
                wrong = (
                    f"{short_repr(url)} does not look like an MP4 (its path does not end in "
                    ".mp4; the service edits MP4 videos only)"
                )
    return [Problem("video_url", url, VIDEO_ALLOWED, wrong)] if wrong else []


def _repr_value(value: Any) -> str:
    if isinstance(value, str) and len(value) > 60:
        return repr(value[:57] + "...")
    return repr(value)
