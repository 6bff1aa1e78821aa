"""from_json: the guide's {model, mode, input} JSON and each gateway's own body become typed
requests; every problem names its JSON path and, for a gateway limit, the gateway."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _contract import gateway as schemas

from omni_widgets import (
    ImageToVideo,
    ReferenceToVideo,
    TextToVideo,
    ValidationError,
    VideoEdit,
    from_json,
)
from omni_widgets.gateways.json_input import parse_json

URLS = [f"https://img.test/{i}.png" for i in range(3)]
GUIDE = {
    "model": "gemini_omni_flash",
    "mode": "text-to-video",
    "input": {
        "prompt": "A cinematic city sunrise with soft fog and moving traffic.",
        "duration": 6,
    },
}


def guide(mode: str, **fields: Any) -> dict[str, Any]:
    return {"model": "gemini_omni_flash", "mode": mode, "input": {"prompt": "a kite", **fields}}


def test_the_guides_json_becomes_a_request_for_toapis() -> None:
    schemas("toapis").validator("guide-request.json").validate(GUIDE)
    request, gateway = parse_json(json.dumps(GUIDE))
    assert gateway.name == "toapis"
    assert request == TextToVideo(GUIDE["input"]["prompt"], duration=6)


def test_the_guides_own_example_duration_is_refused_naming_path_and_gateway() -> None:
    example = {**GUIDE, "input": {**GUIDE["input"], "duration": 5}}
    with pytest.raises(ValidationError) as exc:
        from_json(example)
    assert str(exc.value).startswith(
        "input.duration: 5 is not accepted; allowed: 6 or 10 on toapis"
    )
    # The same request is fine on EvoLink, which takes 3..10 s.
    assert from_json(example, gateway="evolink").duration == 5  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("mode", "fields", "kind"),
    [
        ("Text-To-Video", {}, TextToVideo),
        ("image-to-video", {"image_urls": URLS[:1]}, ImageToVideo),
        ("image_to_video", {"image_url": URLS[0]}, ImageToVideo),
        ("R2V", {"image_urls": URLS}, ReferenceToVideo),
        ("reference-to-video", {"image_urls": URLS}, ReferenceToVideo),
        ("video-edit", {"video_url": "https://files.test/in.mp4"}, VideoEdit),
        ("EDIT", {"video_list": [{"video_url": "https://files.test/in.mp4"}]}, VideoEdit),
    ],
)
def test_every_mode_spelling(mode: str, fields: dict[str, Any], kind: type) -> None:
    request = from_json(guide(mode, **fields))
    assert type(request) is kind
    assert request.prompt == "a kite"


def test_defaults_are_the_gateways() -> None:
    request = from_json(guide("text-to-video"))
    assert isinstance(request, TextToVideo) and request.duration == 6
    flat = from_json({"model": "gemini-omni-flash-text-to-video", "prompt": "a kite"})
    assert isinstance(flat, TextToVideo) and flat.duration == 5


def test_an_unknown_mode_lists_the_accepted_ones() -> None:
    with pytest.raises(ValidationError, match="mode: 'telepathy' is not a mode; allowed: text-to"):
        from_json(guide("telepathy"))


def test_every_problem_is_named_by_its_json_path() -> None:
    bad = guide("r2v", image_urls=[*URLS[:1], "ftp://x"], duration=11, aspect_ratio="4:3", seed=1)
    with pytest.raises(ValidationError) as exc:
        from_json(bad)
    fields = [p.field for p in exc.value.problems]
    assert "input.seed" in fields
    assert "input.image_urls[1]" in fields
    assert "input.aspect_ratio" in fields
    assert "input.duration" in fields


def test_gateway_limits_name_json_paths_too() -> None:
    with pytest.raises(ValidationError) as exc:
        from_json(guide("r2v", image_urls=URLS[:2], resolution="1080p", aspect_ratio="9:16"))
    text = str(exc.value)
    assert "input.image_urls: 2 images given; allowed: 3 images (1 image is image-to-video" in text
    assert "input.resolution: with 9:16; allowed: 1080p only with 16:9 on toapis" in text


@pytest.mark.parametrize(
    ("body", "kind", "gateway"),
    [
        ({"model": "gemini_omni_flash", "prompt": "k", "duration": 6}, TextToVideo, "toapis"),
        (
            {"model": "gemini_omni_flash", "prompt": "k", "duration": 6, "image_urls": URLS[:1]},
            ImageToVideo,
            "toapis",
        ),
        (
            {"model": "gemini-omni-flash", "prompt": "k", "duration": 10, "image_urls": URLS},
            ReferenceToVideo,
            "toapis",
        ),
        (
            {
                "model": "gemini-omni-flash-preview-official",
                "prompt": "k",
                "video_list": [{"video_url": "https://files.test/in.mp4"}],
                "metadata": {"task": "edit"},
            },
            VideoEdit,
            "toapis",
        ),
        (
            {"model": "gemini-omni-flash-image-to-video", "prompt": "k", "image_urls": URLS[:1]},
            ImageToVideo,
            "evolink",
        ),
        (
            {
                "model": "gemini-omni-flash-video-edit",
                "prompt": "k",
                "video_urls": ["https://files.test/in.mp4"],
            },
            VideoEdit,
            "evolink",
        ),
    ],
)
def test_each_gateways_own_body(body: dict[str, Any], kind: type, gateway: str) -> None:
    request, chosen = parse_json(body)
    assert type(request) is kind and chosen.name == gateway
    # What the client would send for it is the same body again, within the gateway's schema.
    if gateway == "toapis":
        sent = chosen.body(request)
        schemas("toapis").request_validator(sent["model"]).validate(sent)


def test_an_evolink_body_on_toapis_is_checked_against_toapis() -> None:
    body = {"model": "gemini-omni-flash-text-to-video", "prompt": "k", "aspect_ratio": "auto"}
    with pytest.raises(ValidationError) as exc:
        from_json(body, gateway="toapis")
    assert [p.field for p in exc.value.problems] == ["aspect_ratio"]  # duration: toapis default


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "JSON: empty; allowed: a JSON object"),
        ("{", "JSON: not JSON"),
        ("[1]", "JSON: a JSON list, not an object"),
        ({"model": "sora", "prompt": "k"}, "model: 'sora' is not a known model"),
        ({"mode": "t2v"}, "input: missing"),
        ({"mode": "t2v", "input": {}}, "input.prompt: missing"),
        ({"mode": "i2v", "input": {"prompt": "k"}}, "input.image_urls: missing"),
    ],
)
def test_unreadable_json_says_what_is_wrong(data: Any, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        from_json(data)
    assert message in str(exc.value)
