"""Every validation message, word for word: "FIELD: what is wrong; allowed: what is allowed".

One case per message the request constructors, the panel and the magics can give, so that a
message that reads backwards (or loses its field) fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _mock import png

from omni_widgets import (
    ImageToVideo,
    Problem,
    ReferenceToVideo,
    Request,
    TextToVideo,
    ValidationError,
    VideoEdit,
)

PROMPT = "a non-empty text describing the video, at most 10,000 characters"
DURATION = "an integer 3..10 or 'auto'"
ASPECT = "one of '16:9', '9:16', 'auto'"
CALLBACK = "a public https URL of at most 2048 characters"
VIDEO = "one http(s) URL of an MP4 video (its path ends in .mp4)"
INPUTS = (
    "an http(s) URL, a path to a png/jpeg/webp file, bytes, a data URL, base64 text or a PIL image"
)
DATA_URL = "a data URL like data:image/png;base64,..."


def t2v(**kwargs: Any) -> Callable[[], Request]:
    return lambda: TextToVideo(kwargs.pop("prompt", "x"), **kwargs)


def i2v(image: Any) -> Callable[[], Request]:
    return lambda: ImageToVideo("x", image)


MESSAGES: list[tuple[str, Callable[[], Request], str]] = [
    ("prompt-missing", t2v(prompt=None), f"prompt: missing; allowed: {PROMPT}"),
    ("prompt-type", t2v(prompt=42), f"prompt: an int, not text; allowed: {PROMPT}"),
    ("prompt-empty", t2v(prompt=""), f"prompt: empty; allowed: {PROMPT}"),
    ("prompt-blank", t2v(prompt=" \n"), f"prompt: only white space; allowed: {PROMPT}"),
    ("prompt-long", t2v(prompt="x" * 10_001),
     f"prompt: 10,001 characters is too long; allowed: {PROMPT}"),
    ("prompt-control", t2v(prompt="a\x07"),
     f"prompt: contains the control character U+0007 at position 1; allowed: {PROMPT}"),
    ("prompt-surrogate", t2v(prompt="\udcff"),
     "prompt: contains a lone surrogate U+DCFF at position 0, which is not valid Unicode text; "
     f"allowed: {PROMPT}"),
    ("duration-range", t2v(duration=12), f"duration: 12 is out of range; allowed: {DURATION}"),
    ("duration-text", t2v(duration="soon"), f"duration: 'soon' is text; allowed: {DURATION}"),
    ("duration-quoted", t2v(duration="6"),
     f"duration: '6' is text (write the number without quotes); allowed: {DURATION}"),
    ("duration-bool", t2v(duration=False),
     f"duration: False is a boolean, not a number of seconds; allowed: {DURATION}"),
    ("duration-float", t2v(duration=6.0),
     f"duration: 6.0 is a float (write 6); allowed: {DURATION}"),
    ("duration-fraction", t2v(duration=6.5),
     f"duration: 6.5 is not a whole number of seconds; allowed: {DURATION}"),
    ("duration-nan", t2v(duration=float("nan")),
     f"duration: NaN is not a number of seconds; allowed: {DURATION}"),
    ("duration-inf", t2v(duration=float("-inf")),
     f"duration: -inf is not a number of seconds; allowed: {DURATION}"),
    ("duration-none", t2v(duration=None), f"duration: missing; allowed: {DURATION}"),
    ("duration-type", t2v(duration=[6]), f"duration: a list is not a number; allowed: {DURATION}"),
    ("aspect-unknown", t2v(aspect_ratio="4:3"),
     f"aspect_ratio: '4:3' is not offered; allowed: {ASPECT}"),
    ("aspect-none", t2v(aspect_ratio=None), f"aspect_ratio: missing; allowed: {ASPECT}"),
    ("aspect-type", t2v(aspect_ratio=1.77), f"aspect_ratio: a float, not text; allowed: {ASPECT}"),
    ("callback-http", t2v(callback_url="http://a.org/h"),
     f"callback_url: 'http://a.org/h' is not an https URL; allowed: {CALLBACK}"),
    ("callback-host", t2v(callback_url="https:///h"),
     f"callback_url: 'https:///h' has no host name; allowed: {CALLBACK}"),
    ("callback-localhost", t2v(callback_url="https://localhost/h"),
     f"callback_url: 'https://localhost/h' points to localhost; allowed: {CALLBACK}"),
    ("callback-private", t2v(callback_url="https://10.0.0.1/h"),
     "callback_url: 'https://10.0.0.1/h' points to a loopback, private or link-local address; "
     f"allowed: {CALLBACK}"),
    ("callback-long", t2v(callback_url="https://a.org/" + "a" * 2040),
     f"callback_url: 2,054 characters is too long; allowed: {CALLBACK}"),
    ("callback-space", t2v(callback_url="https://a.org/a b"),
     f"callback_url: 'https://a.org/a b' contains a space or line break at position 15; "
     f"allowed: {CALLBACK}"),
    ("callback-empty", t2v(callback_url=""), f"callback_url: empty; allowed: {CALLBACK}"),
    ("callback-type", t2v(callback_url=7),
     f"callback_url: an int is not a URL; allowed: {CALLBACK}"),
    ("callback-ipv6", t2v(callback_url="https://[::1/h"),
     f"callback_url: 'https://[::1/h' is not a valid URL (Invalid IPv6 URL); allowed: {CALLBACK}"),
    ("video-missing", lambda: VideoEdit("x", None),  # type: ignore[arg-type]
     f"video_url: missing; allowed: {VIDEO}"),
    ("video-list", lambda: VideoEdit("x", ["https://a.org/v.mp4"]),  # type: ignore[arg-type]
     f"video_url: 1 URLs in a list; allowed: {VIDEO}"),
    ("video-scheme", lambda: VideoEdit("x", "ftp://a.org/v.mp4"),
     f"video_url: 'ftp://a.org/v.mp4' does not start with http:// or https://; allowed: {VIDEO}"),
    ("video-mov", lambda: VideoEdit("x", "https://a.org/v.mov"),
     "video_url: 'https://a.org/v.mov' does not look like an MP4 (its path does not end in "
     f".mp4; the service edits MP4 videos only); allowed: {VIDEO}"),
    ("image-count", lambda: ImageToVideo("x", []),
     "image: 0 images given; allowed: exactly 1 image"),
    ("images-count", lambda: ReferenceToVideo("x", ["https://a.org/a.png"] * 7),
     "images: 7 images given; allowed: 1 to 6 images"),
    ("image-type", i2v(3.5), f"image: a float is not an image; allowed: {INPUTS}"),
    ("image-empty", i2v("  "), f"image: empty text; allowed: {INPUTS}"),
    ("image-unknown", i2v("cat.png"),
     "image: 'cat.png' is not an http(s) URL, an existing file, a data URL or base64; "
     f"allowed: {INPUTS}"),
    ("image-url-space", i2v("https://a.org/a cat.png"),
     "image: 'https://a.org/a cat.png' contains a space or line break at position 15; "
     "allowed: an http(s) URL without spaces or control characters"),
    ("image-format", i2v(b"GIF89a...."),
     "image: not a png, jpeg or webp image (starts with b'GIF89a..'); "
     "allowed: a png, jpeg or webp image"),
    ("image-damaged", i2v(png()[:20]),
     "image: a png image whose width and height cannot be read (truncated or damaged); "
     "allowed: a complete png, jpeg or webp image, 240..7680 px per side"),
    ("image-sides", i2v(png(100, 100)),
     "image: 100x100 px is outside the range; allowed: 240..7680 px per side"),
    ("image-data-comma", i2v("data:image/png;base64"),
     f"image: a data URL without a comma before its data; allowed: {DATA_URL}"),
    ("image-data-mime", i2v("data:video/mp4;base64,AAAA"),
     f"image: a data URL of 'video/mp4', not of an image; allowed: {DATA_URL}"),
    ("image-data-plain", i2v("data:image/png,x"),
     f"image: a data URL that is not base64-encoded; allowed: {DATA_URL}"),
    ("image-data-base64", i2v("data:image/png;base64,A"),
     "image: the data URL's base64 part is not valid base64 (Invalid base64-encoded string: "
     "number of data characters (1) cannot be 1 more than a multiple of 4); "
     f"allowed: {DATA_URL}"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("build", "expected"), [m[1:] for m in MESSAGES], ids=[m[0] for m in MESSAGES]
)
def test_message(build: Callable[[], Request], expected: str) -> None:
    with pytest.raises(ValidationError) as exc:
        build()
    assert [str(p) for p in exc.value.problems] == [expected]
    assert str(exc.value) == f"{expected} ({exc.value.kind})"


def test_file_messages_name_the_path(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    with pytest.raises(ValidationError) as exc:
        ImageToVideo("x", folder)
    assert str(exc.value.problems[0]) == (
        f"image: {str(folder)!r} is a directory; allowed: a path to a regular image file"
    )


def test_several_problems_are_listed_one_per_line() -> None:
    with pytest.raises(ValidationError) as exc:
        TextToVideo("", duration=2)
    assert str(exc.value) == (
        "2 problems in TextToVideo:\n"
        f"  prompt: empty; allowed: {PROMPT}\n"
        f"  duration: 2 is out of range; allowed: {DURATION}"
    )


def test_a_problem_without_words_for_what_is_wrong_shows_the_value() -> None:
    assert str(Problem("task_id", "../x", "letters, digits, - and _")) == (
        "task_id: '../x' is not accepted; allowed: letters, digits, - and _"
    )


def test_the_magics_name_the_option() -> None:
    from omni_widgets.magics.request import usage_error

    with pytest.raises(ValidationError) as exc:
        ReferenceToVideo("x", ["https://a.org/a.png", b"junk"], duration=12)
    assert str(usage_error(exc.value)) == (
        f"--duration: 12 is out of range; allowed: {DURATION} | --ref #2: not a png, jpeg or "
        "webp image (starts with b'junk'); allowed: a png, jpeg or webp image (no task was created)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", f"12 is out of range; allowed: {DURATION}"),
        ("soon", f"'soon' is not a whole number; allowed: {DURATION}"),
        ("9" * 5000, f"'{'9' * 56}... is not a whole number; allowed: {DURATION}"),
    ],
)
def test_the_magics_duration_option(text: str, expected: str) -> None:
    import argparse

    from omni_widgets.magics.request import parse_duration

    with pytest.raises(argparse.ArgumentTypeError) as exc:
        parse_duration(text)
    assert str(exc.value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a {t_nope}", "placeholder {t_nope}: unknown name 't_nope'; allowed: a defined "
         "variable's name, or write {{ and }} for literal braces (no task was created)"),
        ("a {0}", "placeholder {0}: a placeholder needs a variable's name, not {} or {0}; "
         "allowed: {name}, or write {{ and }} for literal braces"),
        ("a {n:99999}", "placeholder format '99999': too wide; allowed: widths and precisions "
         "up to 1000"),
        ("a }", "placeholder in 'a }': Single '}' encountered in format string; allowed: {name}, "
         "or write {{ and }} for literal braces"),
        ("a {n.x}", "placeholder in 'a {n.x}': it failed (AttributeError: 'int' object has no "
         "attribute 'x'); allowed: {name}, {name.attribute}, {name[index]}, or write {{ and }} "
         "for literal braces"),
    ],
)  # fmt: skip
def test_the_magics_placeholders(text: str, expected: str) -> None:
    from IPython.core.error import UsageError

    from omni_widgets.magics.text import fill_placeholders

    with pytest.raises(UsageError) as exc:
        fill_placeholders(text, {"n": 3})
    assert str(exc.value) == expected


def test_the_magics_unclosed_quote() -> None:
    from IPython.core.error import UsageError

    from omni_widgets.magics.text import split_line

    with pytest.raises(UsageError) as exc:
        split_line('a "kite')
    assert str(exc.value) == (
        'quote " at position 2: unclosed in \'"kite\'; allowed: a quoted prompt that ends with "'
    )


def test_the_magics_refuse_a_line_of_endless_options() -> None:
    from IPython.core.error import UsageError

    from omni_widgets.magics.magics import OmniMagics

    with pytest.raises(UsageError) as exc:
        OmniMagics()._parse(["x", *["--ref", "a.png"] * 33, "--wait"])
    assert str(exc.value) == (
        "options: 34 words start with '-'; allowed: at most 32 (each option once, --ref up to 6 "
        "times; quote a prompt word that starts with -)"
    )
