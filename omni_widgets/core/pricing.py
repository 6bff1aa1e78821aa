"""What a request is expected to cost, from the vendor's published token pricing.

The service bills 5,792 tokens per second of output video, plus the same per second of input video
for an edit; `auto` is estimated as 10 s and an edit's input is assumed to be the 10 s maximum
(its input is never fetched here). The credit price of a token is not published:
CREDITS_PER_TOKEN is the sandbox's assumption, so treat credits as an estimate and tokens as the
fact. A gateway that states its own ``pricing`` (credits per second of video) is taken at its word.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .requests import Request

TOKENS_PER_SECOND = 5792
CREDITS_PER_TOKEN = 0.001
CREDITS_PER_SECOND = TOKENS_PER_SECOND * CREDITS_PER_TOKEN
AUTO_SECONDS = 10
EDIT_SECONDS = 10 + 10
"""An edit is billed for its input and its output, each assumed to be 10 s at most."""


def billed_seconds(duration: int | str | None, *, edit: bool = False) -> int:
    """Seconds billed: the output (`auto`/None as 10 s), plus the input for an edit."""
    if edit:
        return EDIT_SECONDS
    if isinstance(duration, int) and not isinstance(duration, bool):
        return duration
    return AUTO_SECONDS


def estimated_tokens(duration: int | str | None, *, edit: bool = False) -> int:
    """Tokens for one video of `duration` seconds, or for one edit."""
    return billed_seconds(duration, edit=edit) * TOKENS_PER_SECOND


def credits_for(tokens: int) -> float:
    """Tokens as credits, at the assumed price (the sandbox reserves exactly this)."""
    return round(tokens * CREDITS_PER_TOKEN, 2)


def credits_per_second(gateway: Any = None) -> float:
    """The gateway's price of one second of video (``gateway.pricing``), else EvoLink's."""
    pricing = getattr(gateway, "pricing", None)
    if isinstance(pricing, int | float) and not isinstance(pricing, bool) and pricing >= 0:
        return float(pricing)
    return CREDITS_PER_SECOND


def estimate_credits(request: Request, gateway: Any = None) -> float:
    """The credits ``request`` is expected to cost on ``gateway`` (rounded to 0.01)."""
    edit = request.model == "gemini-omni-flash-video-edit"
    seconds = billed_seconds(getattr(request, "duration", None), edit=edit)
    return round(seconds * credits_per_second(gateway), 2)
