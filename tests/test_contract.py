"""Every payload the client builds is valid against the project's request schemas
(tests/schemas/evolink, cross-checked against the vendor's documents elsewhere)."""

from __future__ import annotations

import pytest
from _contract import EVOLINK
from _mock import png

from omni_widgets import ImageToVideo, ReferenceToVideo, Request, TextToVideo, VideoEdit

IMAGE = png(320, 240)


def cases() -> list[Request]:
    return [
        TextToVideo("a red kite over the sea"),
        TextToVideo("a red kite", duration=3, aspect_ratio="9:16"),
        TextToVideo(
            "a red kite",
            duration="auto",
            aspect_ratio="auto",
            callback_url="https://hooks.example.com/omni",
        ),
        ImageToVideo("smile", "https://example.com/portrait.jpg", duration=6),
        ImageToVideo("smile", IMAGE, aspect_ratio="9:16", duration="auto"),
        ReferenceToVideo("a kitten", [IMAGE] * 6, duration=10),
        ReferenceToVideo(
            "a kitten", "https://example.com/a.png", callback_url="https://hooks.example.com/x"
        ),
        VideoEdit("warmer light", "https://example.com/source.mp4"),
        VideoEdit("warmer", "http://example.com/s.mp4", callback_url="https://h.example.com/c"),
    ]


@pytest.mark.parametrize("request_", cases(), ids=repr)
def test_payload_matches_the_request_schema(request_: Request) -> None:
    payload = request_.to_payload()
    errors = list(EVOLINK.request_validator(request_.model).iter_errors(payload))
    assert errors == [], [e.message for e in errors]
    assert payload["model"] == request_.model


def test_the_validator_would_catch_a_bad_payload() -> None:
    bad = {
        "model": "gemini-omni-flash-image-to-video",
        "prompt": "x",
        "duration": 11,
        "image_urls": ["a", "b"],
        "aspect_ratio": "1:1",
    }
    errors = list(EVOLINK.request_validator("gemini-omni-flash-image-to-video").iter_errors(bad))
    assert len(errors) == 3
