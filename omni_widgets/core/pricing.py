"""What a request is expected to cost, in credits, before it is sent.

EvoLink bills per token: 5,792 tokens per second of output video, plus as many per second of input
video for an edit. A duration of ``auto`` is counted as 10 s, and an edit as 10 s in and 10 s out
(the documented maximum, since its input is never fetched here). The credit price of a token is not
published: ``CREDITS_PER_TOKEN`` is an assumption, the same one the sandbox makes. A gateway that
states its own ``pricing`` (credits per second of video) is taken at its word.
"""

from __future__ import annotations

from typing import Any

from .requests import Request, VideoEdit

TOKENS_PER_SECOND = 5792
CREDITS_PER_TOKEN = 0.001
AUTO_SECONDS = 10
EDIT_INPUT_SECONDS = 10
CREDITS_PER_SECOND = TOKENS_PER_SECOND * CREDITS_PER_TOKEN


def billed_seconds(request: Request) -> int:
    """Seconds of video the service bills for: output, plus the input for an edit."""
    if isinstance(request, VideoEdit):
        return EDIT_INPUT_SECONDS * 2
    duration = getattr(request, "duration", "auto")
    return AUTO_SECONDS if duration in (None, "auto") else int(duration)


def credits_per_second(gateway: Any = None) -> float:
    """The gateway's price of one second of video (``gateway.pricing``), else EvoLink's."""
    pricing = getattr(gateway, "pricing", None)
    if isinstance(pricing, (int, float)) and not isinstance(pricing, bool) and pricing >= 0:
        return float(pricing)
    return CREDITS_PER_SECOND


def estimate_credits(request: Request, gateway: Any = None) -> float:
    """The credits ``request`` is expected to cost (rounded to 0.01)."""
    return round(billed_seconds(request) * credits_per_second(gateway), 2)
