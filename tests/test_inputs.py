"""Any Python value into a request constructor gives a valid request or a ValidationError.

Regression tests for each input of issue 9 (item 6) that crashed or hung, then property tests
(hypothesis) that feed random values and strings into every constructor. Inputs that used to take
quadratic time are a million characters long here: linear checks finish in milliseconds, while
the old regular expression would run for hours, far beyond the test's timeout.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import math
import os
import pwd
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _mock import png
from _tiers import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from omni_widgets import (
    ImageToVideo,
    ReferenceToVideo,
    Request,
    TextToVideo,
    ValidationError,
    VideoEdit,
)
from omni_widgets.core.defaults import MAX_PROMPT_CHARS

HUGE = 1_000_000
LINEAR = pytest.mark.timeout(60)


def problem(build: Callable[[], Request], field: str) -> str:
    """The one problem ``build`` raises about ``field``, as its message reads."""
    with pytest.raises(ValidationError) as exc:
        build()
    found = [str(p) for p in exc.value.problems if p.field == field]
    assert found, exc.value
    return found[0]


def sendable(request: Request) -> None:
    """A request that was built can be encoded as the service's JSON body (UTF-8, no NaN)."""
    json.dumps(request.to_payload(), ensure_ascii=False, allow_nan=False).encode("utf-8")


# --- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds", [np.int8(6), np.int64(6), np.uint16(6), np.intc(10), np.int32(3)]
)
def test_numpy_integers_are_numbers_and_become_plain_ints(seconds: Any) -> None:
    request = TextToVideo("x", duration=seconds)
    assert type(request.duration) is int and request.duration == int(seconds)
    sendable(request)


@pytest.mark.parametrize(
    ("duration", "wrong"),
    [
        (True, "True is a boolean"),
        (np.bool_(True), "is a boolean"),
        (10**400, "an integer of about 401 digits is out of range"),
        (-(10**5000), "digits is out of range"),
        (math.nan, "NaN is not a number of seconds"),
        (np.float64("nan"), "NaN is not a number of seconds"),
        (math.inf, "inf is not a number of seconds"),
        (6.0, "6.0 is a float (write 6)"),
        (6.5, "6.5 is not a whole number"),
        ("6", "'6' is text (write the number without quotes)"),
        (b"6", "a bytes is not a number"),
        (np.array([5, 6]), "a ndarray is not a number"),
        (None, "missing"),
    ],
    ids=lambda v: v[:24] if isinstance(v, str) else type(v).__name__,
)
def test_odd_durations_are_named(duration: Any, wrong: str) -> None:
    message = problem(lambda: TextToVideo("x", duration=duration), "duration")
    assert message.startswith("duration: ") and wrong in message
    assert message.endswith("; allowed: an integer 3..10 or 'auto'")


def test_an_array_as_aspect_ratio_is_named_not_compared() -> None:
    message = problem(lambda: TextToVideo("x", aspect_ratio=np.array(["16:9"])), "aspect_ratio")
    assert message == "aspect_ratio: a ndarray, not text; allowed: one of '16:9', '9:16', 'auto'"


# --- strings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "wrong"),
    [
        (
            "a \ud800 cat",
            "contains a lone surrogate U+D800 at position 2, which is not valid Unicode text",
        ),
        ("a cat\x00", "contains the control character U+0000 at position 5"),
        ("\x1b[31mred\x1b[0m", "contains the control character U+001B at position 0"),
        ("x" * (MAX_PROMPT_CHARS + 1), f"{MAX_PROMPT_CHARS + 1:,} characters is too long"),
        (b"a cat", "a bytes, not text"),
    ],
    ids=["surrogate", "nul", "escape", "too-long", "bytes"],
)
def test_prompts_that_cannot_be_sent(prompt: Any, wrong: str) -> None:
    assert problem(lambda: TextToVideo(prompt), "prompt") == (
        f"prompt: {wrong}; allowed: a non-empty text describing the video, "
        f"at most {MAX_PROMPT_CHARS:,} characters"
    )


def test_tabs_new_lines_and_str_subclasses_are_fine() -> None:
    request = TextToVideo(np.str_("a cat\n\twalks"))
    assert type(request.prompt) is str and request.prompt == "a cat\n\twalks"
    sendable(request)


@LINEAR
@pytest.mark.parametrize(
    "text",
    [
        " " * HUGE,
        "A" * HUGE + " !",
        "A" * HUGE + "=" * 3,
        "data:" + ";" * HUGE,
        "data:image/png" + ";x" * HUGE + ";base64,AAAA",
        "data:image/png;base64," + "A" * HUGE + "!",
        "https://example.com/" + "a" * HUGE,
        "http://" + "[" * HUGE,
        "~" + "a" * HUGE,
    ],
    ids=lambda text: f"{text[:16]!r}...",
)
def test_very_long_strings_are_checked_in_linear_time(text: str) -> None:
    with pytest.raises(ValidationError):
        ImageToVideo("x", text)
    with pytest.raises(ValidationError):
        TextToVideo(text if text.strip() else text + "x", callback_url=text)
    with pytest.raises(ValidationError):
        VideoEdit(text, text)


@pytest.mark.parametrize(
    ("url", "wrong"),
    [
        ("https://exa mple.com/a.png", "contains a space or line break at position 11"),
        ("https://example.com/a\n.png", "contains a space or line break at position 21"),
        ("https://[::1/a.png", "is not a valid URL (Invalid IPv6 URL)"),
        ("https://example.com:99999/a.png", "is not a valid URL (Port out of range"),
        ("https://example.com/\ud800.png", "a lone surrogate U+D800"),
    ],
)
def test_malformed_image_urls_are_named(url: str, wrong: str) -> None:
    assert wrong in problem(lambda: ImageToVideo("x", url), "image")


@pytest.mark.parametrize(
    "url", ["https://[2606:2800:220:1::248]/a.png", "http://[::1]:8080/a.png", "https://å.se/a"]
)
def test_ipv6_and_international_image_urls_pass(url: str) -> None:
    assert ImageToVideo("x", url).image == url


def test_ipv6_callback_urls_are_checked_by_address() -> None:
    assert TextToVideo("x", callback_url="https://[2606:2800:220:1::248]/cb").callback_url
    for url in ("https://[::1]/cb", "https://[::ffff:10.0.0.1]/cb", "https://[fe80::1%25eth0]/"):
        assert "loopback, private or link-local" in problem(
            lambda url=url: TextToVideo("x", callback_url=url), "callback_url"
        )


@pytest.mark.parametrize(
    ("data_url", "wrong"),
    [
        ("data:image/png;base64,@@@@", "the data URL's base64 part is not valid base64"),
        ("data:image/png;base64,AAA", "the data URL's base64 part is not valid base64"),
        ("data:image/png;base64,", "not a png, jpeg or webp image (empty)"),
        ("data:image/png,rawbytes", "a data URL that is not base64-encoded"),
        ("data:image/png;base64", "a data URL without a comma before its data"),
        ("data:text/html;base64,PGgxPg==", "a data URL of 'text/html', not of an image"),
        ("DATA:image/png;base64,iVBORw0KGgo=", "a png image whose width and height cannot be read"),
    ],
)
def test_bad_data_urls_are_named(data_url: str, wrong: str) -> None:
    assert wrong in problem(lambda: ImageToVideo("x", data_url), "image")


# --- files ----------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_fifo_is_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for path in (fifo, str(fifo)):  # opening it would block forever: no writer ever comes
        assert problem(lambda path=path: ImageToVideo("x", path), "image") == (
            f"image: {str(fifo)!r} is a FIFO (named pipe); allowed: a path to a regular image file"
        )


@pytest.mark.parametrize(
    ("path", "kind"), [("/dev/zero", "a character device"), ("/", "a directory")]
)
def test_devices_and_directories_are_named(path: str, kind: str) -> None:
    assert f"{path!r} is {kind}" in problem(lambda: ImageToVideo("x", Path(path)), "image")


def test_a_file_over_the_limit_is_not_read(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as file:
        file.write(png())
        file.truncate(11 * 1024 * 1024)  # sparse: the size is all stat needs to see
    assert problem(lambda: ImageToVideo("x", big), "image") == (
        f"image: {str(big)!r}: 11,534,336 bytes is too large; allowed: at most 10 MB "
        "(10,485,760 bytes)"
    )


def test_unknown_user_in_a_tilde_path_is_named() -> None:
    users = {entry.pw_name for entry in pwd.getpwall()}
    name = next(f"nouser{i}" for i in range(1000) if f"nouser{i}" not in users)
    message = problem(lambda: ImageToVideo("x", f"~{name}/img.png"), "image")
    assert f"there is no user {name!r} to expand ~{name}" in message


def test_a_tilde_path_of_the_user_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "cat.png").write_bytes(png())
    assert ImageToVideo("x", "~/cat.png").image.startswith("data:image/png;base64,")


def test_pathlike_that_fails_is_named() -> None:
    class Broken(os.PathLike[str]):
        def __fspath__(self) -> str:
            raise RuntimeError("no path today")

    assert "a Broken whose path cannot be read (no path today)" in problem(
        lambda: ImageToVideo("x", Broken()), "image"
    )


# --- PIL images -----------------------------------------------------------------------------

SENDABLE_MODES = [
    "1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV",
    "I", "I;16", "I;16B", "I;16L", "I;16N", "F",
]  # fmt: skip


@pytest.mark.parametrize("mode", SENDABLE_MODES)
def test_every_pil_mode_is_converted_to_a_png_the_service_reads(mode: str) -> None:
    image = Image.new(mode, (320, 240))
    request = ImageToVideo("x", image)
    data = request.image.partition(",")[2]
    decoded = Image.open(io.BytesIO(base64.b64decode(data)))
    assert decoded.format == "PNG" and decoded.size == (320, 240)
    assert decoded.mode in ("RGB", "RGBA", "L", "LA")


def test_sixteen_bit_pixels_keep_their_contrast() -> None:
    image = Image.new("I;16", (300, 300))
    image.paste(40000, (0, 0, 150, 300))  # half bright, half black
    data = ImageToVideo("x", image).image.partition(",")[2]
    grey = Image.open(io.BytesIO(base64.b64decode(data)))
    assert grey.getextrema() == (0, 255)


def test_a_pil_mode_that_cannot_be_converted_is_named() -> None:
    message = problem(lambda: ImageToVideo("x", Image.new("La", (300, 300))), "image")
    assert message.startswith("image: a PIL image of mode 'La' could not be converted to PNG")
    assert message.endswith("allowed: a PIL image that Pillow can convert to RGB or RGBA")


def test_a_tiny_pil_image_is_refused_before_encoding() -> None:
    assert problem(lambda: ImageToVideo("x", Image.new("CMYK", (10, 5000))), "image") == (
        "image: 10x5000 px is outside the range; allowed: 240..7680 px per side"
    )


# --- collections ----------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_an_endless_iterator_of_references_does_not_hang() -> None:
    message = problem(lambda: ReferenceToVideo("x", itertools.repeat(png())), "images")
    assert message == "images: more than 6 images given; allowed: 1 to 6 images"


def test_an_iterator_that_fails_is_named() -> None:
    def broken() -> Any:
        yield png()
        raise OSError("disk gone")

    assert "a generator that failed while being read (OSError)" in problem(
        lambda: ReferenceToVideo("x", broken()), "images"
    )


def test_an_object_whose_repr_fails_is_still_named() -> None:
    class Odd:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert problem(lambda: TextToVideo("x", aspect_ratio=Odd()), "aspect_ratio").startswith(
        "aspect_ratio: an Odd, not text"
    )
    assert "an Odd is not an image" in problem(lambda: ImageToVideo("x", Odd()), "image")


# --- long prompts and edit URLs -------------------------------------------------------------


def test_a_long_prompt_warns_with_its_length_and_the_threshold() -> None:
    from omni_widgets.core.errors import LongPromptWarning

    with pytest.warns(LongPromptWarning) as caught:
        TextToVideo("a " * 1500)
    message = str(caught[0].message)
    assert message.startswith("prompt: 3,000 characters is more than 2,000")
    assert "'prompt is too long'" in message and "up to 10,000" in message
    assert caught[0].filename == __file__, "the warning points at the caller's line"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TextToVideo("a" * 2000)  # at the threshold: no warning


@pytest.mark.parametrize(
    "url", ["https://a.org/clip.mp4", "https://a.org/CLIP.MP4?sig=abc&x=1", "http://a.org/v.Mp4#t"]
)
def test_edit_urls_of_mp4s_pass(url: str) -> None:
    assert VideoEdit("x", url).video_url == url


@pytest.mark.parametrize(
    "url",
    [
        "https://a.org/clip.mov",
        "https://a.org/clip",
        "https://a.org/clip.mp4/",
        "https://a.org/?f=a.mp4",
    ],
)
def test_edit_urls_that_do_not_look_like_mp4_give_the_reason(url: str) -> None:
    assert problem(lambda: VideoEdit("x", url), "video_url") == (
        f"video_url: {url!r} does not look like an MP4 (its path does not end in .mp4; the "
        "service edits MP4 videos only); allowed: one http(s) URL of an MP4 video (its path "
        "ends in .mp4)"
    )


# --- property tests -------------------------------------------------------------------------

PREFIXES = ["", "http://", "https://", "https://[", "data:", "data:image/png;base64,", "~", "/",
            "./", "file://", "  ", "\\\\"]  # fmt: skip
strings = st.text(st.characters(exclude_categories=()), max_size=300)
odd_strings = st.builds(lambda p, s: p + s, st.sampled_from(PREFIXES), strings)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**600), max_value=10**600),
    st.floats(),
    st.complex_numbers(),
    st.decimals(),
    st.fractions(),
    st.binary(max_size=200),
    odd_strings,
    st.builds(np.int64, st.integers(-(2**63), 2**63 - 1)),
    st.builds(np.float32, st.floats(width=32)),
    st.builds(np.bool_, st.booleans()),
    st.sampled_from([3, 5, 10, "auto", "16:9", "9:16", "https://a.org/a.mp4", png()]),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=8) | st.tuples(inner), max_leaves=12
)
PROPERTY = settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def built_or_invalid(build: Callable[[], Request]) -> None:
    try:
        request = build()
    except ValidationError as exc:
        assert exc.problems and all(str(p).count(": ") >= 1 for p in exc.problems)
        assert all("; allowed: " in str(p) for p in exc.problems)
        return
    sendable(request)
    repr(request)


@PROPERTY
@given(values, values, values, values)
def test_text_to_video_takes_any_value(prompt: Any, duration: Any, ratio: Any, hook: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built_or_invalid(
            lambda: TextToVideo(prompt, duration=duration, aspect_ratio=ratio, callback_url=hook)
        )


@PROPERTY
@given(odd_strings | values, values)
def test_image_to_video_takes_any_value(image: Any, duration: Any) -> None:
    built_or_invalid(lambda: ImageToVideo("x", image, duration=duration))


@PROPERTY
@given(values)
def test_reference_to_video_takes_any_value(images: Any) -> None:
    built_or_invalid(lambda: ReferenceToVideo("x", images))


@PROPERTY
@given(values | odd_strings, values)
def test_video_edit_takes_any_value(url: Any, prompt: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built_or_invalid(lambda: VideoEdit(prompt, url))


# --- the magics' parser ---------------------------------------------------------------------


class Built(Exception):
    """Raised instead of connecting: the line made a valid request (nothing is sent)."""

    def __init__(self, request: Request) -> None:
        self.request = request


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A shell with the magics loaded, whose generation stops right after the request is built."""
    from IPython.core.interactiveshell import InteractiveShell

    from omni_widgets.magics import magics

    real_build = magics.build_request

    def build_and_stop(choice: Any) -> None:
        raise Built(real_build(choice))

    monkeypatch.setattr(magics, "build_request", build_and_stop)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "omni_widgets")
    ip.user_ns.update(t_n=3, t_s="a kite", t_l=[1, 2])
    yield ip
    ip.run_line_magic("unload_ext", "omni_widgets")


WORDS = ["--duration", "--aspect", "--image", "--ref", "--video", "--callback", "--wait", "-o",
         "auto", "9:16", "{t_n}", "{t_s:>5}", "{t_l[9]}", "{", "}}", "'", '"', "\\", "--", "-",
         "https://a.org/v.mp4", "~nobody/x.png", "data:image/png;base64,@@", "10",
         "1e3"]  # fmt: skip
lines = st.lists(st.sampled_from(WORDS) | strings, min_size=1, max_size=8).map(" ".join)


def generated_or_usage_error(run: Callable[[], Any]) -> None:
    from IPython.core.error import UsageError

    try:
        run()
    except Built as built:
        sendable(built.request)
    except UsageError as exc:
        assert "\n" not in str(exc) and str(exc)


@PROPERTY
@given(lines)
def test_any_omni_line_builds_a_request_or_is_a_one_line_usage_error(shell: Any, line: str) -> None:
    from omni_widgets.magics.magics import SUBCOMMANDS

    words = line.split()
    if words and words[0] in SUBCOMMANDS:
        line = "x " + line  # subcommands act on the service; here only the parser is tried
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generated_or_usage_error(lambda: shell.run_line_magic("omni", line))


@PROPERTY
@given(lines, strings)
def test_any_omni_cell_builds_a_request_or_is_a_one_line_usage_error(
    shell: Any, line: str, body: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generated_or_usage_error(lambda: shell.run_cell_magic("omni", line, body))


@LINEAR
def test_a_huge_omni_line_is_parsed_in_linear_time(shell: Any) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(Built):
        shell.run_line_magic("omni", "x" + " " * HUGE + "--wait")
    many_options = "x --ref a.png" * (HUGE // 20)  # argparse alone would take hours
    for line in ('"' + "a" * HUGE, "{t_n:999999999}", "{" * HUGE, "x" * HUGE, many_options):
        with pytest.raises(UsageError):
            shell.run_line_magic("omni", line)
