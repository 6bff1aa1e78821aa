"""The four kinds of generation request, immutable and validated when they are built."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from .errors import Problem, ValidationError
from .images import ImageProblem, describe_image, is_http_url, normalize_image
from .pricing import credits_for, estimated_tokens

Duration = int | Literal["auto"]
ASPECT_RATIOS = ("16:9", "9:16", "auto")
MIN_DURATION, MAX_DURATION = 3, 10
MAX_REFERENCES = 6
MAX_CALLBACK_URL = 2048


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
        duration = self.to_payload().get("duration")
        return credits_for(estimated_tokens(duration, edit=isinstance(self, VideoEdit)))

    def _validate(self, problems: list[Problem]) -> None:
        """Collect every problem, then raise them together."""
        if problems:
            raise ValidationError(type(self).__name__, problems)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={_repr_value(v)}" for k, v in self.describe().items() if k != "model"
        )
        return f"{type(self).__name__}({fields})"


@dataclass(frozen=True, repr=False)
class _Timed(Request):
    duration: Duration = 10
    aspect_ratio: str = "16:9"
    callback_url: str | None = None

    def _common_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "prompt": self.prompt,
            "duration": self.duration,
            "aspect_ratio": self.aspect_ratio,
        }
        if self.callback_url is not None:
            payload["callback_url"] = self.callback_url
        return payload

    def _common_problems(self) -> list[Problem]:
        return [
            *_prompt_problems(self.prompt),
            *_duration_problems(self.duration),
            *_aspect_problems(self.aspect_ratio),
            *_callback_problems(self.callback_url),
        ]


@dataclass(frozen=True, repr=False, init=False)
class TextToVideo(_Timed):
    """A video with sound from a text prompt."""

    model: ClassVar[str] = "gemini-omni-flash-text-to-video"

    def __init__(
        self,
        prompt: str,
        *,
        duration: Duration = 10,
        aspect_ratio: str = "16:9",
        callback_url: str | None = None,
    ) -> None:
        _set(
            self,
            prompt=prompt,
            duration=duration,
            aspect_ratio=aspect_ratio,
            callback_url=callback_url,
        )
        self._validate(self._common_problems())

    def to_payload(self) -> dict[str, Any]:
        return self._common_payload()


@dataclass(frozen=True, repr=False, init=False)
class ImageToVideo(_Timed):
    """A video that animates one image, guided by the prompt."""

    model: ClassVar[str] = "gemini-omni-flash-image-to-video"
    image: str = field(default="")

    def __init__(
        self,
        prompt: str,
        image: Any,
        *,
        duration: Duration = 10,
        aspect_ratio: str = "16:9",
        callback_url: str | None = None,
    ) -> None:
        problems: list[Problem] = []
        if isinstance(image, (list, tuple)):
            problems.append(Problem("image", f"{len(image)} images", "exactly 1 image"))
            normalized = ""
        else:
            normalized = _normalize("image", image, problems)
        _set(
            self,
            prompt=prompt,
            image=normalized,
            duration=duration,
            aspect_ratio=aspect_ratio,
            callback_url=callback_url,
        )
        self._validate(self._common_problems() + problems)

    def to_payload(self) -> dict[str, Any]:
        return {**self._common_payload(), "image_urls": [self.image]}


@dataclass(frozen=True, repr=False, init=False)
class ReferenceToVideo(_Timed):
    """A video whose subjects or style follow 1 to 6 reference images."""

    model: ClassVar[str] = "gemini-omni-flash-reference-to-video"
    images: tuple[str, ...] = ()

    def __init__(
        self,
        prompt: str,
        images: Iterable[Any],
        *,
        duration: Duration = 10,
        aspect_ratio: str = "16:9",
        callback_url: str | None = None,
    ) -> None:
        problems: list[Problem] = []
        if isinstance(images, (str, bytes)) or not isinstance(images, Iterable):
            images = [images]
        given = list(images)
        if not 1 <= len(given) <= MAX_REFERENCES:
            problems.append(
                Problem("images", f"{len(given)} images", f"1 to {MAX_REFERENCES} images")
            )
        normalized = tuple(
            _normalize(f"images[{i}]", image, problems) for i, image in enumerate(given)
        )
        _set(
            self,
            prompt=prompt,
            images=normalized,
            duration=duration,
            aspect_ratio=aspect_ratio,
            callback_url=callback_url,
        )
        self._validate(self._common_problems() + problems)

    def to_payload(self) -> dict[str, Any]:
        return {**self._common_payload(), "image_urls": list(self.images)}


@dataclass(frozen=True, repr=False, init=False)
class VideoEdit(Request):
    """An edit of an existing 3-10 s MP4 (by http(s) URL); the output keeps its length and shape."""

    model: ClassVar[str] = "gemini-omni-flash-video-edit"
    video_url: str = ""
    callback_url: str | None = None

    def __init__(self, prompt: str, video_url: str, *, callback_url: str | None = None) -> None:
        _set(self, prompt=prompt, video_url=video_url, callback_url=callback_url)
        problems = [*_prompt_problems(prompt), *_callback_problems(callback_url)]
        if not isinstance(video_url, str) or not is_http_url(video_url):
            problems.append(Problem("video_url", video_url, "exactly one http(s) URL of an MP4"))
        self._validate(problems)

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


def _normalize(name: str, image: Any, problems: list[Problem]) -> str:
    try:
        return normalize_image(image)
    except ImageProblem as exc:
        problems.append(Problem(name, _image_label(image), str(exc)))
        return ""


def _image_label(image: Any) -> Any:
    if isinstance(image, (bytes, bytearray)):
        return f"<{len(image)} bytes>"
    if isinstance(image, str) and len(image) > 80:
        return image[:40] + "..."
    return image


def _prompt_problems(prompt: Any) -> list[Problem]:
    if not isinstance(prompt, str) or not prompt.strip():
        return [Problem("prompt", prompt, "a non-empty text describing the video")]
    return []


def _duration_problems(duration: Any) -> list[Problem]:
    if duration == "auto" and isinstance(duration, str):
        return []
    is_int = isinstance(duration, int) and not isinstance(duration, bool)
    if is_int and MIN_DURATION <= duration <= MAX_DURATION:
        return []
    return [Problem("duration", duration, f"an integer {MIN_DURATION}..{MAX_DURATION} or 'auto'")]


def _aspect_problems(aspect_ratio: Any) -> list[Problem]:
    if aspect_ratio in ASPECT_RATIOS and isinstance(aspect_ratio, str):
        return []
    return [Problem("aspect_ratio", aspect_ratio, "one of '16:9', '9:16', 'auto'")]


def _callback_problems(url: Any) -> list[Problem]:
    if url is None:
        return []
    reason = callback_url_problem(url)
    return [Problem("callback_url", url, reason)] if reason else []


def callback_url_problem(url: Any) -> str | None:
    """Why the service would refuse this callback URL, or None if it is acceptable."""
    allowed = "a public https URL of at most 2048 characters"
    if not isinstance(url, str):
        return allowed
    if len(url) > MAX_CALLBACK_URL:
        return f"{len(url)} characters; {allowed}"
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return allowed
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"{allowed}, not localhost"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
        or address.is_multicast
    ):
        return f"{allowed}, not a loopback, private, link-local or unspecified address"
    return None


def _repr_value(value: Any) -> str:
    if isinstance(value, str) and len(value) > 60:
        return repr(value[:57] + "...")
    return repr(value)
