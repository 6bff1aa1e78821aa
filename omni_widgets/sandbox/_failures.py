"""Scripted business failures: a `[[fail:<code>]]` directive in the prompt makes the task fail with
that code.

The codes and the tone of the messages come from the vendor's error-codes page; the task still goes
pending → processing → failed, like a real one the model gave up on.
"""

from __future__ import annotations

import re
from collections.abc import Collection

FAILURE_MESSAGES: dict[str, str] = {
    "content_policy_violation": (
        "Content policy violation.\nYour request was blocked by safety filters: "
        "content policy violation. Avoid real people, celebrities, brands and adult or violent "
        "themes, then retry."
    ),
    "invalid_parameters": (
        "Invalid parameters.\nRequest parameters do not meet model requirements: "
        "Prompt is too long. Check the model's documentation, then retry."
    ),
    "image_processing_error": (
        "Image processing failed.\nThe system could not process the input image: the image URL is "
        "inaccessible or the file is corrupted. Use a publicly accessible png, jpeg or webp image."
    ),
    "image_dimension_mismatch": (
        "Image dimension mismatch.\nThe input image dimensions do not match the requested "
        "aspect_ratio. Resize the image or change aspect_ratio, then retry."
    ),
    "request_cancelled": (
        "Request cancelled.\nThe task was cancelled or interrupted during processing. "
        "If you did not cancel it, resubmit the same request."
    ),
    "generation_failed_no_content": (
        "Generation failed.\nThe model was unable to produce output for your request. "
        "Make the prompt clearer and more specific, or simply retry."
    ),
    "service_error": (
        "Service error.\nAn internal issue occurred in the upstream service. "
        "Wait 30-60 seconds and retry the same request."
    ),
    "generation_timeout": (
        "Generation timeout.\nThe task did not complete within the allowed time. "
        "Retry later or reduce the video duration."
    ),
    "resource_exhausted": (
        "Resource exhausted.\nUpstream compute resources are temporarily depleted. "
        "Wait 1-5 minutes and retry."
    ),
    "quota_exceeded": (
        "Quota exceeded.\nRequest frequency or concurrency limits have been exceeded. "
        "Reduce request frequency or wait for running tasks to finish."
    ),
    "service_unavailable": (
        "Service unavailable.\nAn internal authentication or connection issue occurred. "
        "Wait a few minutes and retry."
    ),
    "resource_not_found": (
        "Resource not found.\nThe requested task ID does not exist or has expired. "
        "Check the task ID."
    ),
    "unknown_error": (
        "Unknown error.\nAn unclassified error occurred. If it persists, contact support with the "
        "task ID."
    ),
}

_DIRECTIVE = re.compile(r"\[\[\s*fail\s*:\s*([^\]]*?)\s*\]\]", re.IGNORECASE)


class DirectiveError(ValueError):
    """A `[[fail:...]]` directive naming a code the vendor does not have."""


def parse_directives(
    prompt: str, codes: Collection[str] = FAILURE_MESSAGES
) -> tuple[str, str | None]:
    """Split a prompt into (text to show, failure code or None); DirectiveError on codes not in
    `codes` (the vendor's, by default)."""
    code: str | None = None
    for match in _DIRECTIVE.finditer(prompt):
        candidate = match[1].strip().lower()
        if candidate not in codes:
            raise DirectiveError(
                f"prompt directive {match[0]!r} names an unknown failure code; "
                f"use one of {', '.join(codes)}"
            )
        code = code or candidate
    text = " ".join(_DIRECTIVE.sub(" ", prompt).split())
    return text, code
