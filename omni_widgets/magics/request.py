"""Turn ``%omni`` options into one validated request, or a one-line usage error naming the option.

The requests validate themselves (``core.requests``); this module only chooses the kind, applies the
configured defaults, and translates each problem's field into the option the user typed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from ..core.defaults import (
    ASPECT_RATIOS,
    MAX_DURATION,
    MIN_DURATION,
    Duration,
)
from ..core.errors import ValidationError, short_repr
from ..core.requests import (
    DURATION_ALLOWED,
    MAX_REFERENCES,
    ImageToVideo,
    ReferenceToVideo,
    Request,
    TextToVideo,
    VideoEdit,
)

DURATION_VALUES = DURATION_ALLOWED
ASPECT_VALUES = "one of " + ", ".join(repr(a) for a in ASPECT_RATIOS)

#: The option a user typed for each request field (``images[2]`` is the third ``--ref``).
OPTION_OF_FIELD = {
    "prompt": "prompt",
    "duration": "--duration",
    "aspect_ratio": "--aspect",
    "callback_url": "--callback",
    "image": "--image",
    "images": "--ref",
    "video_url": "--video",
    "resolution": "--resolution",
}


def parse_duration(text: str) -> Duration:
    """The ``--duration`` value: 3..10 or 'auto' (argparse reports the message with the option)."""
    if text.strip().lower() == "auto":
        return "auto"
    digits = text.strip()
    if not (digits.isascii() and digits.isdecimal()) or len(digits) > 6:
        wrong = f"{short_repr(text)} is not a whole number"
    elif MIN_DURATION <= int(digits) <= MAX_DURATION:
        return int(digits)
    else:
        wrong = f"{int(digits)} is out of range"
    raise argparse.ArgumentTypeError(f"{wrong}; allowed: {DURATION_VALUES}")


def parse_aspect(text: str) -> str:
    """The ``--aspect`` value, one of the offered ratios (argparse adds the option's name)."""
    if text in ASPECT_RATIOS:
        return text
    raise argparse.ArgumentTypeError(f"{short_repr(text)} is not offered; allowed: {ASPECT_VALUES}")


@dataclass(frozen=True)
class Choice:
    """What one generation line asks for, options already merged with the configured defaults."""

    prompt: str
    duration: Duration
    aspect_ratio: str
    explicit_shape: bool  # --duration or --aspect typed on this line
    image: list[str]
    refs: list[str]
    video: str | None
    callback: str | None
    resolution: str | None = None


def build_request(choice: Choice) -> Request:
    """The request this line describes; raises UsageError (no task is created) if it is invalid."""
    if not choice.prompt.strip():
        raise UsageError(
            "no prompt: write it after %omni (e.g. %omni a red kite over the sea) or in the body "
            "of a %%omni cell; see %omni --help"
        )
    kinds = [name for name, given in _kinds(choice) if given]
    if len(kinds) > 1:
        raise UsageError(
            f"{' and '.join(kinds)} cannot be combined: use --image (one image), --ref (1 to "
            f"{MAX_REFERENCES} images) or --video (one URL), at most one of them"
        )
    if len(choice.image) > 1:
        raise UsageError(
            f"--image was given {len(choice.image)} times; it takes exactly 1 image "
            f"(for 1 to {MAX_REFERENCES} reference images, repeat --ref)"
        )
    if len(choice.refs) > MAX_REFERENCES:
        raise UsageError(f"--ref was given {len(choice.refs)} times; 1 to {MAX_REFERENCES} allowed")
    if choice.video is not None and (choice.explicit_shape or choice.resolution):
        options = "--duration and --aspect" if choice.explicit_shape else "--resolution"
        raise UsageError(
            f"{options} do not apply to --video: a video edit keeps the length "
            "and shape of the input video"
        )
    try:
        return _request(choice)
    except ValidationError as exc:
        raise usage_error(exc) from None


def usage_error(exc: ValidationError) -> UsageError:
    """One line naming each option at fault, what is wrong with it and what is allowed."""
    parts = []
    for problem in exc.problems:
        field, _, index = problem.field.partition("[")
        option = OPTION_OF_FIELD.get(field, field)
        if index:
            option = f"{option} #{int(index.rstrip(']')) + 1}"
        parts.append(f"{option}: {problem.reason}; allowed: {problem.allowed}")
    return UsageError(" | ".join(parts) + " (no task was created)")


def _kinds(choice: Choice) -> list[tuple[str, bool]]:
    return [
        ("--image", bool(choice.image)),
        ("--ref", bool(choice.refs)),
        ("--video", bool(choice.video)),
    ]


def _request(choice: Choice) -> Request:
    timed: dict[str, Any] = {
        "duration": choice.duration,
        "aspect_ratio": choice.aspect_ratio,
        "callback_url": choice.callback,
        "resolution": choice.resolution,
    }
    if choice.video is not None:
        return VideoEdit(choice.prompt, choice.video, callback_url=choice.callback)
    if choice.image:
        return ImageToVideo(choice.prompt, choice.image[0], **timed)
    if choice.refs:
        return ReferenceToVideo(choice.prompt, choice.refs, **timed)
    return TextToVideo(choice.prompt, **timed)
