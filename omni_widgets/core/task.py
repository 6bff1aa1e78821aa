"""The immutable view of one generation task, parsed tolerantly from the service's JSON."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .requests import Request

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
URL_LIFETIME_S = 24 * 3600

# The vendor's advice for each business failure code (error-codes.mdx), phrased as an action.
ADVICE: dict[str, str] = {
    "content_policy_violation": "change the prompt or image (no real faces, logos or unsafe "
    "content), then resubmit",
    "invalid_parameters": "fix the parameters (prompt length, image size or format), then resubmit",
    "image_processing_error": "use a different image (public URL, png/jpeg/webp), then resubmit",
    "image_dimension_mismatch": "resize the image to match the aspect ratio, then resubmit",
    "request_cancelled": "the task was cancelled; resubmit the same request",
    "generation_failed_no_content": "try a clearer or different prompt; a plain resubmit may work",
    "service_error": "a temporary service error; resubmit in 30-60 s",
    "generation_timeout": "the service timed out; resubmit later, perhaps shorter",
    "resource_exhausted": "the service is at capacity; resubmit in 1-5 minutes",
    "quota_exceeded": "too many tasks at once or quota used up; wait, or top up, then resubmit",
    "service_unavailable": "the service is temporarily unavailable; resubmit in a few minutes",
    "resource_not_found": "the task id is invalid or expired; check it",
    "unknown_error": "resubmit after a short wait; if it persists, tell support the task id",
}


@dataclass(frozen=True)
class TaskError:
    """Why a task failed: the business code, the vendor's message and advice for it."""

    code: str | None
    message: str

    @property
    def advice(self) -> str:
        return ADVICE.get(self.code or "", ADVICE["unknown_error"])


@dataclass(frozen=True)
class Task:
    """One task as last seen: status, progress and, once completed, the video URL.

    Query responses omit some create-time facts (estimated time, credits); a task updated with
    :meth:`updated` keeps them. ``request`` is the request this client submitted, when known.
    """

    id: str
    model: str | None = None
    status: str = "pending"
    progress: int = 0
    created: int | None = None
    estimated_time: int | None = None
    credits_reserved: float | None = None
    video_url: str | None = None
    error: TaskError | None = None
    raw: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    request: Request | None = field(default=None, compare=False)
    completed_at: float | None = field(default=None, compare=False)
    #: Unix time the service says the video URL stops answering (ToAPIs' ``expires_at``).
    expires_at: float | None = field(default=None, compare=False)

    @property
    def is_terminal(self) -> bool:
        """True once the task is completed, failed or cancelled."""
        return self.status in TERMINAL_STATUSES

    @property
    def url_expires_at(self) -> float | None:
        """Unix time after which the video URL stops answering: the service's ``expires_at``
        when it gives one, else 24 h after completion."""
        if self.expires_at is not None:
            return self.expires_at
        start = self.completed_at or self.created
        return None if start is None else start + URL_LIFETIME_S

    @classmethod
    def from_json(cls, data: Any, *, request: Request | None = None) -> Task:
        """Parse a create or query body; every field is optional except the id."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise ValueError("the service's answer has no task id")
        info = _as_dict(data.get("task_info"))
        usage = _as_dict(data.get("usage"))
        results = data.get("results")
        url = (
            next((r for r in results if isinstance(r, str)), None)
            if isinstance(results, list)
            else None
        )
        err = _as_dict(data.get("error"))
        status = str(data.get("status") or "pending")
        return cls(
            id=data["id"],
            model=_opt_str(data.get("model")),
            status=status,
            progress=_clamp_progress(data.get("progress"), status),
            created=_opt_int(data.get("created")),
            estimated_time=_opt_int(info.get("estimated_time")),
            credits_reserved=_opt_float(usage.get("credits_reserved")),
            video_url=url,
            error=TaskError(_opt_str(err.get("code")), str(err.get("message") or ""))
            if err
            else None,
            raw=MappingProxyType(dict(data)),
            request=request,
            completed_at=time.time() if status == "completed" else None,
        )

    def updated(self, newer: Task) -> Task:
        """The newer view of this task, keeping what only an earlier answer told us (``newer``
        itself when it holds all of that already, as a watched task does after its first poll)."""
        model = newer.model or self.model
        created = self.created if newer.created is None else newer.created
        estimated = self.estimated_time if newer.estimated_time is None else newer.estimated_time
        credits = (
            self.credits_reserved if newer.credits_reserved is None else newer.credits_reserved
        )
        request = newer.request or self.request
        completed_at = self.completed_at or newer.completed_at
        expires_at = self.expires_at if newer.expires_at is None else newer.expires_at
        if (
            model is newer.model
            and created is newer.created
            and estimated is newer.estimated_time
            and credits is newer.credits_reserved
            and request is newer.request
            and completed_at is newer.completed_at
            and expires_at is newer.expires_at
        ):
            return newer
        # Every field by name (dataclasses.replace takes twice as long; a test checks that no
        # field is left out).
        return type(newer)(
            id=newer.id,
            model=model,
            status=newer.status,
            progress=newer.progress,
            created=created,
            estimated_time=estimated,
            credits_reserved=credits,
            video_url=newer.video_url,
            error=newer.error,
            raw=newer.raw,
            request=request,
            completed_at=completed_at,
            expires_at=expires_at,
        )

    def __repr__(self) -> str:
        extra = f", video_url={self.video_url!r}" if self.video_url else ""
        if self.error:
            extra += f", error={self.error.code!r}"
        return (
            f"Task(id={self.id!r}, model={self.model!r}, status={self.status!r}, "
            f"progress={self.progress}{extra})"
        )


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _opt_float(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _clamp_progress(value: Any, status: str) -> int:
    number = _opt_int(value)
    if number is None:
        return 100 if status == "completed" else 0
    return max(0, min(100, number))
