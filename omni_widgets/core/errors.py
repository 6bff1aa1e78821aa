"""The exceptions omni-widgets raises: one base class, one subclass per thing a user can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .task import Task


class OmniError(Exception):
    """Base class of every error raised by omni-widgets."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the field, the value given, what is allowed, what is wrong.

    It reads "FIELD: what is wrong; allowed: what is allowed"; ``wrong`` defaults to a short
    form of the value.
    """

    field: str
    value: Any
    allowed: str
    wrong: str = ""

    @property
    def reason(self) -> str:
        """What is wrong with the value, in words."""
        return self.wrong or f"{short_repr(self.value)} is not accepted"

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}; allowed: {self.allowed}"


class ValidationError(OmniError, ValueError):
    """A request that would be rejected; raised before anything is sent. Lists every problem."""

    def __init__(self, kind: str, problems: list[Problem]) -> None:
        self.kind = kind
        self.problems = list(problems)
        if len(problems) == 1:
            message = f"{problems[0]} ({kind})"
        else:
            listed = "".join(f"\n  {p}" for p in problems)
            message = f"{len(problems)} problems in {kind}:{listed}"
        super().__init__(message)

    def for_field(self, field: str) -> list[Problem]:
        """The problems about one field (``images[2]`` counts as ``images``)."""
        return [p for p in self.problems if p.field.split("[")[0] == field]


class LongPromptWarning(UserWarning):
    """A prompt long enough that the service may fail the task with "prompt is too long".

    The vendor lists that failure but documents no limit, so this is a warning at
    ``PROMPT_WARN_CHARS`` (the request is still valid); ``MAX_PROMPT_CHARS`` is the hard cap.
    """

    def __init__(self, length: int) -> None:
        from .defaults import MAX_PROMPT_CHARS, PROMPT_WARN_CHARS

        self.length = length
        super().__init__(
            f"prompt: {length:,} characters is more than {PROMPT_WARN_CHARS:,}, and the service "
            f"may fail the task as 'prompt is too long'; allowed: up to {MAX_PROMPT_CHARS:,} "
            "characters, a shorter prompt is safer"
        )


class MissingAPIKeyError(OmniError):
    """No API key was found in the argument or the environment.

    In IPython and Jupyter it shows as its message alone (``_render_traceback_``): the fix is in
    the words, and a traceback through the client's set-up would only hide them.
    """

    def __init__(self) -> None:
        super().__init__(
            "no API key: pass OmniClient(api_key=...) or set OMNI_API_KEY (or EVOLINK_API_KEY) "
            "in the environment; keys come from https://evolink.ai/dashboard/keys. "
            "To try things without a key, use omni_widgets.sandbox.Sandbox()."
        )

    def _render_traceback_(self) -> list[str]:
        """The lines IPython prints instead of a traceback."""
        return [
            "MissingAPIKeyError: no API key, so the client cannot reach the service.",
            "  Set one: os.environ['OMNI_API_KEY'] = '...' (or EVOLINK_API_KEY), or pass",
            "           OmniClient(api_key=...); keys: https://evolink.ai/dashboard/keys",
            "  Or use the offline sandbox (no key, free local videos):",
            "           from omni_widgets.sandbox import Sandbox",
            "           sb = Sandbox().start(); client = OmniClient(sb.api_key, sb.base_url)",
        ]


class APIError(OmniError):
    """The service answered with an HTTP error."""

    advice = "see the message above"

    def __init__(
        self,
        status_code: int,
        code: str | None,
        message: str,
        type: str | None = None,
        task_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.type = type
        self.task_id = task_id
        where = f" for task {task_id}" if task_id else ""
        label = f"{status_code} {code}" if code else str(status_code)
        super().__init__(f"HTTP {label}{where}: {message.strip() or 'no message'} ({self.advice})")


class InvalidRequestError(APIError):
    """400: the service rejected the request; fix it before sending it again."""

    advice = "fix the request; it will not be retried"


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or expired."""

    advice = "check OMNI_API_KEY; keys come from https://evolink.ai/dashboard/keys"


class InsufficientQuotaError(APIError):
    """402: the account has no credits left."""

    advice = "top up at https://evolink.ai/dashboard/billing"


class ContentPolicyError(InvalidRequestError):
    """422: the service refused the request for its content; never retried: change it first."""

    advice = "change the prompt or images (no real faces, logos or unsafe content), then resubmit"


class PermissionDeniedError(APIError):
    """403: the key may not use this model or see this task."""

    advice = "this key has no access; check the key or the task id"


class NotFoundError(APIError):
    """404: no such task (wrong id, or the record has expired)."""

    advice = "check the task id; task records expire"


class RateLimitError(APIError):
    """429: too many requests; retried automatically up to ``max_retries``."""

    advice = "too many requests; wait a little and try again"


class ServerError(APIError):
    """5xx: the service failed; retried automatically where that is safe."""

    advice = "a service-side failure; try again later"


class OmniConnectionError(OmniError):
    """The service could not be reached, or the connection failed."""


class OutcomeUnknownError(OmniConnectionError):
    """A create request may have reached the service but its answer was lost or unreadable.

    A task may exist and may be billed, so it is never re-sent automatically: a retry could
    start (and bill) a second task. ``task_id`` is the id found in the answer, if any.
    """

    def __init__(self, what: str, task_id: str | None = None) -> None:
        self.task_id = task_id
        if task_id:
            advice = (
                f"task {task_id} may exist and may be billed, so the request was not sent again; "
                f"follow it with client.wait({task_id!r}) before resubmitting"
            )
        else:
            advice = (
                "a task may have been created and may be billed, so the request was not sent "
                "again; check your dashboard, or wait a minute, before resubmitting"
            )
        super().__init__(f"{what}: {advice}")


class TaskFailedError(OmniError):
    """The task ended as failed or cancelled; carries the task, the business code and advice."""

    def __init__(self, task: Task) -> None:
        self.task = task
        error = task.error
        self.code = error.code if error else None
        self.advice = error.advice if error else "resubmit the request"
        detail = error.message.replace("\n", " ").strip() if error else "no reason given"
        code = f" ({self.code})" if self.code else ""
        super().__init__(f"task {task.id} {task.status}{code}: {detail} Advice: {self.advice}.")


class WaitTimeoutError(OmniError):
    """The wait ended before the task did; the task goes on and can be waited for again."""

    def __init__(self, task: Task, timeout: float) -> None:
        self.task = task
        self.timeout = timeout
        super().__init__(
            f"task {task.id} is still {task.status} ({task.progress}%) after {timeout:g} s; "
            f"it keeps running: wait again with client.wait({task.id!r})"
        )


class DownloadError(OmniError):
    """The finished video could not be downloaded or failed its integrity checks."""

    def __init__(self, task_id: str, message: str) -> None:
        self.task_id = task_id
        super().__init__(f"download of task {task_id} failed: {message}")


class URLExpiredError(DownloadError):
    """The video URL no longer answers (URLs expire 24 hours after the task completes)."""


def short_repr(value: Any, limit: int = 60) -> str:
    """A repr short enough for a one-line message, for any value (even one whose repr fails)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        digits = int(value.bit_length() * 0.30103) + 1
        return f"an integer of about {digits} digits"
    if isinstance(value, (str, bytes, bytearray)) and len(value) > limit:
        value = value[:limit]
    try:
        text = repr(value)
    except Exception:  # a user's object whose __repr__ fails must not hide the real problem
        text = f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
