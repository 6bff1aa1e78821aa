"""ToAPIs (toapis.com): the same model behind flat create bodies, ``video_...`` ids and
``queued``/``in_progress`` statuses; results under ``result.data[].url`` with an ``expires_at``.

What is sent follows its API reference (TOAPIS.md); where its pages conflict, the limits are the
intersection: durations 6 or 10, 720P (or 1080p with 16:9 only), 0, 1 or 3 image URLs (never 2,
URLs only), and video edit only on the ``-official`` variant.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from types import MappingProxyType
from typing import Any

from ..core.errors import (
    AuthenticationError,
    ContentPolicyError,
    InsufficientQuotaError,
    NotFoundError,
)
from ..core.gateway import COMMON_ERRORS, Defaults, ErrorRule, Gateway, Limits
from ..core.requests import ImageToVideo, ReferenceToVideo, Request, TextToVideo, VideoEdit
from ..core.task import Task, TaskError

MODEL = "gemini_omni_flash"
EDIT_MODEL = "gemini-omni-flash-preview-official"
# The API reference shows video_01J... ids, the guide task_xxxxxxxx: both shapes are accepted.
TASK_ID = re.compile(r"(?:video|task)_[A-Za-z0-9]{1,64}")
TASK_ID_SHAPE = "video_<letters and digits> or task_<letters and digits>"
STATUSES = {
    "submitted": "pending",
    "queued": "pending",
    "in_progress": "processing",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}
# Not published: the sandbox's EvoLink figure is assumed for estimates.
CREDITS_PER_SECOND = 5.792


class ToapisAuthenticationError(AuthenticationError):
    """401 from ToAPIs: its advice names ToAPIs' key, not EvoLink's pages."""

    advice = (
        "check TOAPIS_API_KEY (or OMNI_API_KEY); keys come from your account at https://toapis.com"
    )


class ToapisQuotaError(InsufficientQuotaError):
    """402 from ToAPIs: its advice names ToAPIs, not EvoLink's billing page."""

    advice = "top up your account at https://toapis.com"


ERRORS = {
    **COMMON_ERRORS,
    401: ErrorRule(ToapisAuthenticationError),
    402: ErrorRule(ToapisQuotaError),
    404: ErrorRule(NotFoundError),
    422: ErrorRule(ContentPolicyError),  # refused for its content: never retried
}

LIMITS = Limits(
    durations=(6, 10),
    auto_duration=False,
    aspect_ratios=("16:9", "9:16"),
    resolutions=("720P", "1080p"),
    resolution_aspects={"1080p": ("16:9",)},
    reference_images=(3,),
    reference_note="1 image is image-to-video; 2 are refused",
    urls_only=True,
    callback_url=False,
)


def body(request: Request) -> dict[str, Any]:
    """The flat create body of the API reference, for a request within :data:`LIMITS`."""
    if isinstance(request, VideoEdit):
        return {
            "model": EDIT_MODEL,
            "prompt": request.prompt,
            "video_list": [{"video_url": request.video_url}],
            "metadata": {"task": "edit"},
        }
    assert isinstance(request, TextToVideo | ImageToVideo | ReferenceToVideo)
    payload: dict[str, Any] = {
        "model": MODEL,
        "prompt": request.prompt,
        "duration": request.duration,
        "aspect_ratio": request.aspect_ratio,
    }
    if request.resolution is not None:
        payload["resolution"] = LIMITS.resolution(request.resolution) or request.resolution
    if isinstance(request, ImageToVideo):
        payload["image_urls"] = [request.image]
    elif isinstance(request, ReferenceToVideo):
        payload["image_urls"] = list(request.images)
    return payload


def parse_task(data: Any, request: Request | None) -> Task:
    """A create or query answer as a Task: ``id`` with Unix times (API reference) or ``task_id``
    with an ISO time (the guide); statuses mapped to the neutral ones; the raw answer kept."""
    if not isinstance(data, dict):
        raise ValueError("the service's answer has no task id")
    task_id = data.get("id") if isinstance(data.get("id"), str) else data.get("task_id")
    if not isinstance(task_id, str):
        raise ValueError("the service's answer has no task id")
    raw_status = str(data.get("status") or "queued")
    status = STATUSES.get(raw_status, raw_status)
    result = data.get("result")
    items = result.get("data") if isinstance(result, dict) else None
    url = next(
        (
            item["url"]
            for item in items or ()
            if isinstance(item, dict) and isinstance(item.get("url"), str)
        ),
        None,
    )
    error = data.get("error")
    completed = _unix(data.get("completed_at"))
    return Task(
        id=task_id,
        model=None if data.get("model") is None else str(data["model"]),
        status=status,
        progress=_progress(data.get("progress"), status),
        created=None if (created := _unix(data.get("created_at"))) is None else int(created),
        video_url=url,
        error=TaskError(
            None if error.get("code") is None else str(error["code"]),
            str(error.get("message") or ""),
        )
        if isinstance(error, dict)
        else None,
        raw=MappingProxyType(dict(data)),
        request=request,
        completed_at=completed or (time.time() if status == "completed" else None),
        expires_at=_unix(data.get("expires_at")),
    )


def _unix(value: Any) -> float | None:
    """Unix seconds from a number or an ISO 8601 time ('2026-04-15T00:00:00.000Z')."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _progress(value: Any, status: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(0, min(100, int(value)))
    return 100 if status == "completed" else 0


TOAPIS = Gateway(
    name="toapis",
    title="ToAPIs",
    default_base_url="https://toapis.com",
    key_env=("TOAPIS_API_KEY",),
    dashboard="https://toapis.com",
    create_path="/v1/videos/generations",
    query_path="/v1/videos/generations/{task_id}",
    statuses=STATUSES,
    task_id=TASK_ID,
    task_id_shape=TASK_ID_SHAPE,
    limits=LIMITS,
    defaults=Defaults(duration=6, aspect_ratio="16:9", resolution="720P"),
    pricing=CREDITS_PER_SECOND,
    body=body,
    parse_task=parse_task,
    errors=ERRORS,
    first_poll_s=5.0,
    poll_every_s=10.0,
    give_up_s=600.0,
    batch_query=100,
)
