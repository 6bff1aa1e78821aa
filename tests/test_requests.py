"""Every validation rule of the four request kinds, and their payloads and reprs."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from _mock import png

from omni_widgets import (
    ImageToVideo,
    ReferenceToVideo,
    TextToVideo,
    ValidationError,
    VideoEdit,
)


def problems(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {p.field: p.allowed for p in exc.value.problems}


def test_text_to_video_defaults_make_the_vendor_payload() -> None:
    request = TextToVideo("a red kite over the sea")
    assert request.model == "gemini-omni-flash-text-to-video"
    assert request.to_payload() == {
        "model": "gemini-omni-flash-text-to-video",
        "prompt": "a red kite over the sea",
        "duration": 5,
        "aspect_ratio": "16:9",
    }


@pytest.mark.parametrize("prompt", ["", "   \n\t", None, 42])
def test_prompt_must_be_non_empty_text(prompt: object) -> None:
    with pytest.raises(ValidationError) as exc:
        TextToVideo(prompt)  # type: ignore[arg-type]
    assert "prompt" in problems(exc)
    assert "non-empty" in str(exc.value)


@pytest.mark.parametrize("duration", [3, 7, 10, "auto"])
def test_allowed_durations(duration: int | str) -> None:
    assert TextToVideo("x", duration=duration).to_payload()["duration"] == duration  # type: ignore[arg-type]


@pytest.mark.parametrize("duration", [2, 11, 0, -5, True, False, 6.0, "6", "AUTO", None])
def test_rejected_durations_name_value_and_rule(duration: object) -> None:
    with pytest.raises(ValidationError) as exc:
        TextToVideo("x", duration=duration)  # type: ignore[arg-type]
    assert problems(exc) == {"duration": "an integer 3..10 or 'auto'"}
    assert str(exc.value).startswith("duration: ")
    assert str(exc.value).endswith("; allowed: an integer 3..10 or 'auto' (TextToVideo)")


@pytest.mark.parametrize("ratio", ["16:9", "9:16", "auto"])
def test_allowed_aspect_ratios(ratio: str) -> None:
    assert TextToVideo("x", aspect_ratio=ratio).aspect_ratio == ratio


@pytest.mark.parametrize("ratio", ["1:1", "4:3", "16x9", "", None])
def test_rejected_aspect_ratios(ratio: object) -> None:
    with pytest.raises(ValidationError) as exc:
        TextToVideo("x", aspect_ratio=ratio)  # type: ignore[arg-type]
    assert "aspect_ratio" in problems(exc)
    assert "'16:9', '9:16', 'auto'" in str(exc.value)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ValidationError) as exc:
        TextToVideo(" ", duration=99, aspect_ratio="1:1", callback_url="http://x.org")
    assert set(problems(exc)) == {"prompt", "duration", "aspect_ratio", "callback_url"}
    assert str(exc.value).startswith("4 problems in TextToVideo:\n  prompt: only white space;")
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/done",
        "https://93.184.216.34/cb",
        "https://[2606:2800:220:1::248]/cb",
    ],
)
def test_public_https_callbacks_are_allowed(url: str) -> None:
    assert TextToVideo("x", callback_url=url).to_payload()["callback_url"] == url


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/done",
        "ftp://example.com",
        "https://localhost/cb",
        "https://api.localhost/cb",
        "https://127.0.0.1/cb",
        "https://10.1.2.3/cb",
        "https://172.16.0.1/cb",
        "https://192.168.1.1/cb",
        "https://169.254.169.254/latest",
        "https://0.0.0.0/cb",
        "https://[::1]/cb",
        "https://[fe80::1]/cb",
        "https://example.com/" + "a" * 2048,
        "not a url",
    ],
)
def test_unsafe_or_long_callbacks_are_rejected(url: str) -> None:
    with pytest.raises(ValidationError) as exc:
        TextToVideo("x", callback_url=url)
    assert "callback_url" in problems(exc)
    assert problems(exc)["callback_url"] == "a public https URL of at most 2048 characters"


def test_image_url_passes_through() -> None:
    request = ImageToVideo("smile", "https://example.com/portrait.jpg", duration=6)
    assert request.to_payload() == {
        "model": "gemini-omni-flash-image-to-video",
        "prompt": "smile",
        "duration": 6,
        "aspect_ratio": "16:9",
        "image_urls": ["https://example.com/portrait.jpg"],
    }


@pytest.mark.parametrize("fmt,mime", [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_local_images_become_data_urls(tmp_path: Path, fmt: str, mime: str) -> None:
    data = png(300, 260, fmt)
    path = tmp_path / f"in.{mime}"
    path.write_bytes(data)
    expected = f"data:image/{mime};base64," + base64.b64encode(data).decode()
    b64 = base64.b64encode(data).decode()
    for given in (path, str(path), data, bytearray(data), expected, b64):
        assert ImageToVideo("x", given).image == expected


def test_pil_image_is_accepted() -> None:
    from PIL import Image

    request = ImageToVideo("x", Image.new("RGB", (320, 320)))
    assert request.image.startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    "image,words",
    [
        (b"GIF89a" + b"\0" * 100, "not a png, jpeg or webp image (starts with b'GIF89a"),
        (b"\x00\x00\x00\x1cftypavif" + b"\0" * 100, "not a png, jpeg or webp"),
        ("missing-file.png", "'missing-file.png' is not an http(s) URL, an existing file"),
        ("data:image/png;base64,@@@", "the data URL's base64 part is not valid base64"),
        ("data:text/plain,hello", "a data URL of 'text/plain', not of an image"),
        (12345, "an int is not an image"),
    ],
)
def test_bad_images_say_what_is_wrong(image: object, words: str) -> None:
    with pytest.raises(ValidationError) as exc:
        ImageToVideo("x", image)
    assert words in exc.value.problems[0].reason


@pytest.mark.parametrize("size", [(200, 300), (300, 100), (8000, 300)])
def test_image_dimensions_are_checked(size: tuple[int, int]) -> None:
    with pytest.raises(ValidationError) as exc:
        ImageToVideo("x", png(*size))
    assert str(exc.value.problems[0]) == (
        f"image: {size[0]}x{size[1]} px is outside the range; allowed: 240..7680 px per side"
    )


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_dimensions_are_read_from_jpeg_and_webp_headers(fmt: str) -> None:
    with pytest.raises(ValidationError, match="100x500 px"):
        ImageToVideo("x", png(100, 500, fmt))


def test_images_over_10_mb_are_rejected() -> None:
    huge = png(300, 300) + b"\0" * (10 * 1024 * 1024)
    expected = (
        rf"image: {len(huge):,} bytes is too large; allowed: at most 10 MB \(10,485,760 bytes\)"
    )
    with pytest.raises(ValidationError, match=expected):
        ImageToVideo("x", huge)


def test_image_to_video_takes_exactly_one_image() -> None:
    with pytest.raises(ValidationError) as exc:
        ImageToVideo("x", ["https://a.org/1.png", "https://a.org/2.png"])
    assert problems(exc) == {"image": "exactly 1 image"}


def test_references_take_one_to_six() -> None:
    urls = [f"https://a.org/{i}.png" for i in range(6)]
    request = ReferenceToVideo("x", urls, aspect_ratio="9:16")
    assert request.to_payload()["image_urls"] == urls
    assert ReferenceToVideo("x", "https://a.org/solo.png").images == ("https://a.org/solo.png",)
    for count in (0, 7):
        with pytest.raises(ValidationError) as exc:
            ReferenceToVideo("x", [f"https://a.org/{i}.png" for i in range(count)])
        assert problems(exc)["images"] == "1 to 6 images"


def test_reference_problems_name_the_index() -> None:
    with pytest.raises(ValidationError) as exc:
        ReferenceToVideo("x", ["https://a.org/ok.png", b"junk"])
    assert "images[1]" in problems(exc)
    assert exc.value.for_field("images")[0].field == "images[1]"


def test_video_edit_takes_one_http_url_and_no_duration() -> None:
    request = VideoEdit("warmer light", "https://example.com/source.mp4")
    assert request.to_payload() == {
        "model": "gemini-omni-flash-video-edit",
        "prompt": "warmer light",
        "video_urls": ["https://example.com/source.mp4"],
    }
    for bad in ("file:///tmp/a.mp4", "/tmp/a.mp4", "", ["https://a.org/v.mp4"]):
        with pytest.raises(ValidationError) as exc:
            VideoEdit("x", bad)  # type: ignore[arg-type]
        assert problems(exc) == {
            "video_url": "one http(s) URL of an MP4 video (its path ends in .mp4)"
        }
    with pytest.raises(TypeError):
        VideoEdit("x", "https://a.org/v.mp4", duration=5)  # type: ignore[call-arg]


def test_requests_are_immutable_and_comparable() -> None:
    request = TextToVideo("x", duration=5)
    with pytest.raises(AttributeError):
        request.duration = 6  # type: ignore[misc]
    assert request == TextToVideo("x", duration=5)


def test_repr_is_short_and_hides_image_data() -> None:
    request = ReferenceToVideo("a cat " * 30, [png(400, 400), "https://a.org/b.png"])
    text = repr(request)
    assert text.startswith("ReferenceToVideo(prompt='a cat a cat")
    assert "<png image," in text and "https://a.org/b.png" in text
    assert "base64" not in text
    assert len(text) < 250
    assert "base64" not in str(request.describe())
