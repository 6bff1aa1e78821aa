"""EvoLink (api.evolink.ai): the first gateway; its requests are the neutral ones.

The neutral request classes already hold EvoLink's limits and payloads, so this module is mostly
data: where to send, how ids look, and that its statuses are the neutral ones.
"""

from __future__ import annotations

from typing import Any

from ..core.defaults import (
    ASPECT_RATIOS,
    DEFAULT_ASPECT_RATIO,
    DEFAULT_DURATION,
    MAX_DURATION,
    MIN_DURATION,
)
from ..core.gateway import Defaults, Gateway, Limits
from ..core.ids import EVOLINK_TASK_ID, EVOLINK_TASK_ID_SHAPE
from ..core.requests import MAX_REFERENCES, Request
from ..core.task import Task

# 5,792 tokens per second of video at an assumed 0.001 credit per token (sandbox/_pricing.py).
CREDITS_PER_SECOND = 5.792


def body(request: Request) -> dict[str, Any]:
    """EvoLink's create body: the request's own payload."""
    return request.to_payload()


def parse_task(data: Any, request: Request | None) -> Task:
    """A create or query answer (``id``, Unix ``created``, ``results[]``) as a Task."""
    return Task.from_json(data, request=request)


EVOLINK = Gateway(
    name="evolink",
    title="EvoLink",
    default_base_url="https://api.evolink.ai",
    key_env=("EVOLINK_API_KEY",),
    dashboard="https://evolink.ai/dashboard",
    create_path="/v1/videos/generations",
    query_path="/v1/tasks/{task_id}",
    statuses={s: s for s in ("pending", "processing", "completed", "failed", "cancelled")},
    task_id=EVOLINK_TASK_ID,
    task_id_shape=EVOLINK_TASK_ID_SHAPE,
    limits=Limits(
        durations=tuple(range(MIN_DURATION, MAX_DURATION + 1)),
        auto_duration=True,
        aspect_ratios=ASPECT_RATIOS,
        reference_images=tuple(range(1, MAX_REFERENCES + 1)),
    ),
    defaults=Defaults(DEFAULT_DURATION, DEFAULT_ASPECT_RATIO),
    pricing=CREDITS_PER_SECOND,
    body=body,
    parse_task=parse_task,
    poll_every_s=3.0,
)
