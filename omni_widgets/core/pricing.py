"""What a request is expected to cost, from the vendor's published token pricing.

The service bills 5,792 tokens per second of output video, plus the same per second of input video
for an edit; `auto` is estimated as 10 s and an edit's input is assumed to be the 10 s maximum. The
credit price of a token is not published: CREDITS_PER_TOKEN is the sandbox's assumption, so treat
credits as an estimate and tokens as the fact.
"""

from __future__ import annotations

TOKENS_PER_SECOND = 5792
CREDITS_PER_TOKEN = 0.001
AUTO_SECONDS = 10
EDIT_SECONDS = 10 + 10
"""An edit is billed for its input and its output, each assumed to be 10 s at most."""


def estimated_tokens(duration: int | str | None, *, edit: bool = False) -> int:
    """Tokens for one video of `duration` seconds (`auto`/None as 10 s), or for one edit."""
    if edit:
        seconds = EDIT_SECONDS
    elif isinstance(duration, int) and not isinstance(duration, bool):
        seconds = duration
    else:
        seconds = AUTO_SECONDS
    return seconds * TOKENS_PER_SECOND


def credits_for(tokens: int) -> float:
    """Tokens as credits, at the assumed price (the sandbox reserves exactly this)."""
    return round(tokens * CREDITS_PER_TOKEN, 2)
