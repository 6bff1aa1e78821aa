"""The `usage` block of a create response, from the vendor's token pricing facts.

Billing is per token: 5,792 tokens per second of output video, plus the same per second of input
video for edits. `auto` durations are estimated as 10 s, and an edit's input (never fetched here) is
assumed to be the documented maximum of 10 s, with an output that follows it. The credit price of a
token is not published; CREDITS_PER_TOKEN is the sandbox's own assumption.
"""

from __future__ import annotations

from typing import Any

from ._validate import EDIT, Duration

TOKENS_PER_SECOND = 5792
CREDITS_PER_TOKEN = 0.001
"""Sandbox assumption: a 10 s clip (57,920 tokens) reserves 57.92 credits."""
AUTO_SECONDS = 10
EDIT_INPUT_SECONDS = 10


def billed_seconds(model: str, duration: Duration | None) -> int:
    """Seconds of video the reservation covers: output, plus input for edits."""
    if model == EDIT:
        return EDIT_INPUT_SECONDS * 2
    return AUTO_SECONDS if duration in (None, "auto") else int(duration or AUTO_SECONDS)


def usage(model: str, duration: Duration | None) -> dict[str, Any]:
    """The create response's `usage`: per-token billing with the credits reserved up front."""
    tokens = billed_seconds(model, duration) * TOKENS_PER_SECOND
    return {
        "billing_rule": "per_token",
        "credits_reserved": round(tokens * CREDITS_PER_TOKEN, 2),
        "user_group": "default",
    }
