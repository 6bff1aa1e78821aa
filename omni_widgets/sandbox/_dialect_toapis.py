"""ToAPIs' wire format, from its API reference (TOAPIS.md): flat create bodies, `video_01J...` ids,
queued/in_progress/completed/failed, Unix times with `expires_at`, `result.data[].url`, 422
content-policy refusals at create, and Retry-After on every 429.

Requests map onto the shared `CreateRequest` under the EvoLink model of the same mode (which the
renderer and the time estimate know); the task reports the model named on the wire. Where the
gateway's two sources conflict, only what both allow passes (duration 6 or 10 on the flash models).
A prompt with `[[refuse]]` is refused with 422; `[[fail:<code>]]` fails the task as on EvoLink.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any

from ._dialect import Refused
from ._errors import error_body
from ._failures import FAILURE_MESSAGES, parse_directives
from ._validate import EDIT, I2V, REF, T2V, CreateRequest, RequestError, _is_http_url, _show

if TYPE_CHECKING:
    from ._faults import Endpoint
    from ._tasks import Task

FLASH = "gemini_omni_flash"
FLASH_ALIAS = "gemini-omni-flash"
OMNI = "gemini_omni"
OFFICIAL = "gemini-omni-flash-preview-official"
MODELS = (FLASH, FLASH_ALIAS, OMNI, OFFICIAL)
OBJECT = "generation.task"
ID_PREFIX = "video_"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

DURATIONS: dict[str, tuple[int, ...]] = {
    FLASH: (6, 10),
    FLASH_ALIAS: (6, 10),
    OMNI: (6, 10),
    OFFICIAL: (4, 6, 8, 10),
}
DEFAULT_DURATION = 6
ASPECT_RATIOS = ("16:9", "9:16")
RESOLUTIONS: dict[str, tuple[str, ...]] = {
    FLASH: ("720P", "1080P"),
    FLASH_ALIAS: ("720P", "1080P"),
    OMNI: ("720P",),
    OFFICIAL: ("720P",),
}
MAX_OFFICIAL_IMAGES = 10
MAX_VIDEOS = 3
TASKS = ("text_to_video", "image_to_video", "reference_to_video", "edit")
_FIELDS: dict[str, tuple[str, ...]] = {
    FLASH: ("model", "prompt", "duration", "aspect_ratio", "resolution", "image_urls", "metadata"),
    OFFICIAL: (
        "model",
        "prompt",
        "duration",
        "aspect_ratio",
        "resolution",
        "image_urls",
        "video_list",
        "metadata",
    ),
}
_FIELDS[FLASH_ALIAS] = _FIELDS[OMNI] = _FIELDS[FLASH]
_REFUSE = re.compile(r"\[\[\s*refuse\s*\]\]", re.IGNORECASE)

# ToAPIs documents one failure code; the message says why. Every EvoLink failure directive works
# here too, so a script fails the same way in both dialects.
FAILED_CODE = "generation_failed"
FAILURE_REASONS: dict[str, str] = {
    FAILED_CODE: "Generation failed: the model could not produce a video for this request",
    "content_policy_violation": "Generation failed: Content violates the content policy",
    **{
        code: "Generation failed: " + message.partition("\n")[0].rstrip(".")
        for code, message in FAILURE_MESSAGES.items()
        if code != "content_policy_violation"
    },
}

# (code, message, type) per HTTP status; TOAPIS.md names codes and types, the messages are ours.
_ERRORS: dict[str, dict[int, tuple[str, str, str]]] = {
    "create": {
        401: ("unauthorized", "Invalid or missing API key", "authentication_error"),
        402: ("insufficient_quota", "Insufficient quota: top up your balance", "billing_error"),
        403: ("model_access_denied", "This key has no access to model {model}", "permission_error"),
        429: ("rate_limit_exceeded", "Too many requests; retry after a pause", "rate_limit_error"),
        500: ("internal_error", "Internal server error", "api_error"),
    },
    "query": {
        401: ("unauthorized", "Invalid or missing API key", "authentication_error"),
        402: ("insufficient_quota", "Insufficient quota: top up your balance", "billing_error"),
        403: ("permission_denied", "This key has no access to this task", "permission_error"),
        404: ("task_not_found", "Task not found", "not_found_error"),
        429: ("rate_limit_exceeded", "Too many requests; retry after a pause", "rate_limit_error"),
        500: ("internal_error", "Failed to retrieve the task", "api_error"),
    },
}

ABOUT = """omni-widgets sandbox: a local emulator of ToAPIs' Gemini Omni Flash video API.

POST /v1/videos/generations            create a task (Authorization: Bearer <key>; flat JSON body)
GET  /v1/videos/generations/{task_id}  query it
GET  /files/<token>/<task_id>.mp4      the result video (the URL in result.data[].url)
GET|POST|DELETE /_sandbox/faults       inspect, add, clear faults (the sandbox's own key only)
GET|DELETE /_sandbox/log               request log, created tasks
GET|POST /_sandbox/config              speed, ttl (result URLs), record_ttl (task records)
"""


class ToAPIsDialect:
    """ToAPIs' API reference, served by the same machinery as EvoLink's."""

    name = "toapis"
    title = "ToAPIs"
    about = ABOUT
    create_path = "/v1/videos/generations"
    query_route = "/v1/videos/generations/{task_id:path}"
    records_file = "tasks-toapis.sqlite3"
    foreign_task_status = 404  # no 403 is documented: another key's task is simply not found
    default_retry_after: int | None = 1

    def endpoint_of(self, method: str, path: str) -> Endpoint | None:
        if method == "POST" and path == self.create_path:
            return "create"
        if method == "GET" and path.startswith(self.create_path + "/"):
            return "query"
        if method in ("GET", "HEAD") and path.startswith("/files/"):
            return "download"
        return None

    def validate(
        self, body: object, *, allow_loopback_callbacks: bool
    ) -> tuple[str, CreateRequest]:
        return validate_toapis(body)

    def directives(self, prompt: str) -> tuple[str, str | None]:
        refused = _REFUSE.search(prompt)
        text, code = parse_directives(_REFUSE.sub(" ", prompt), FAILURE_REASONS)
        if refused:
            raise Refused("the prompt violates the content policy")
        return text, code

    def error(self, endpoint: Endpoint, status: int, *, model: str = "") -> dict[str, Any]:
        if endpoint == "download":
            raise ValueError("download errors are storage errors, not API errors")
        code, message, type_ = _ERRORS[endpoint][status]
        return error_body(code, message.format(model=model), type_)

    def invalid_request(self, message: str, param: str | None) -> dict[str, Any]:
        return error_body("invalid_request", message, "invalid_request_error", param)

    def refused(self, message: str) -> dict[str, Any]:
        text = f"Request rejected: {message}. Change the prompt or images; do not retry as is."
        return error_body("content_policy_violation", text, "invalid_request_error")

    def bad_task_id(self, task_id: str) -> dict[str, Any] | None:
        return None  # any id may be looked up; unknown ones are 404 task_not_found

    def new_id(self, rng: random.Random, now: float) -> str:
        """`video_` and a ULID: 10 characters of milliseconds, 16 random ones (Crockford)."""
        millis = int(now * 1000)
        stamp = "".join(_CROCKFORD[(millis >> shift) & 31] for shift in range(45, -1, -5))
        return ID_PREFIX + stamp + "".join(rng.choice(_CROCKFORD) for _ in range(16))

    def create_body(self, task: Task) -> dict[str, Any]:
        return {
            "id": task.id,
            "object": OBJECT,
            "model": task.model,
            "status": "queued",
            "created_at": task.created,
        }

    def query_body(self, task: Task, now: float, ttl: float) -> dict[str, Any]:
        status, progress = task.state(now)
        body: dict[str, Any] = {
            "id": task.id,
            "object": OBJECT,
            "model": task.model,
            "status": {"pending": "queued", "processing": "in_progress"}.get(status, status),
            "progress": progress,
            "created_at": task.created,
        }
        if status == "completed":
            completed = int(task.started_wall + task.finish_after)
            body["completed_at"] = completed
            body["expires_at"] = int(completed + ttl)
            body["result"] = {"type": "video", "data": [{"url": task.result_url, "format": "mp4"}]}
        elif status == "failed":
            reason = FAILURE_REASONS.get(
                task.fail_code or FAILED_CODE, FAILURE_REASONS[FAILED_CODE]
            )
            body["error"] = {"code": FAILED_CODE, "message": reason}
        return body


TOAPIS = ToAPIsDialect()


def validate_toapis(body: object) -> tuple[str, CreateRequest]:
    """Check a flat create body; RequestError naming the field and what is allowed."""
    if not isinstance(body, dict):
        raise RequestError(f"request body must be a JSON object, got {_show(body)}")
    if "model" not in body:
        raise RequestError("model is required", "model")
    model = body["model"]
    if model not in MODELS:
        raise RequestError(f"model must be one of {', '.join(MODELS)}, got {_show(model)}", "model")
    assert isinstance(model, str)
    for name in body:
        if name not in _FIELDS[model]:
            raise _unknown(name, model)
    prompt = body.get("prompt")
    if "prompt" not in body:
        raise RequestError("prompt is required", "prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestError(f"prompt must be a non-empty string, got {_show(prompt)}", "prompt")
    duration = _choice(body, "duration", DURATIONS[model], DEFAULT_DURATION, model)
    resolution = _resolution(body, model)
    image_urls = _image_urls(body, model)
    videos = _video_list(body) if model == OFFICIAL else ()
    task = _metadata(body, model)
    mode = _mode(model, task, image_urls, videos)
    aspect_ratio: str | None = None
    if mode == EDIT:
        if "aspect_ratio" in body:
            raise RequestError(
                "aspect_ratio is not taken by an edit; the output follows the input video",
                "aspect_ratio",
            )
    else:
        aspect_ratio = str(_choice(body, "aspect_ratio", ASPECT_RATIOS, "16:9", model))
    if resolution == "1080P" and aspect_ratio != "16:9":
        raise RequestError(
            f"resolution 1080p needs aspect_ratio 16:9, got {_show(aspect_ratio)}; use 720P "
            "for 9:16",
            "resolution",
        )
    request = CreateRequest(
        model=mode,
        prompt=prompt,
        duration=int(duration),
        aspect_ratio=aspect_ratio,
        image_urls=image_urls,
        images=tuple(None for _ in image_urls),
        video_url=videos[0] if videos else None,
        callback_url=None,
        resolution=resolution,
    )
    return model, request


def _unknown(name: str, model: str) -> RequestError:
    if name == "video_list":
        return RequestError(
            f"video_list is not taken by {model}: video edit is served only by {OFFICIAL} "
            '(video_list with metadata.task "edit")',
            "video_list",
        )
    if name in ("callback_url", "webhook_url"):
        return RequestError(
            f"{name} is not supported here: poll GET /v1/videos/generations/{{id}}", name
        )
    return RequestError(
        f"unknown field {name!r} for {model}; allowed: {', '.join(_FIELDS[model])}", name
    )


def _choice(
    body: dict[str, Any], name: str, allowed: tuple[Any, ...], default: Any, model: str
) -> Any:
    value = body.get(name, default)
    if type(value) is not type(default) or value not in allowed:
        listed = " or ".join(str(item) for item in allowed)
        raise RequestError(f"{name} must be {listed} on {model}, got {_show(value)}", name)
    return value


def _resolution(body: dict[str, Any], model: str) -> str:
    value = body.get("resolution", "720P")
    allowed = RESOLUTIONS[model]
    if not isinstance(value, str) or value.upper() not in allowed:
        listed = " or ".join(allowed)
        raise RequestError(
            f"resolution must be {listed} on {model}, got {_show(value)}", "resolution"
        )
    return value.upper()


def _urls(value: object, name: str) -> list[str]:
    if not isinstance(value, list):
        raise RequestError(f"{name} must be an array of http(s) URLs, got {_show(value)}", name)
    for index, item in enumerate(value):
        if not isinstance(item, str) or not _is_http_url(item):
            raise RequestError(
                f"{name}[{index}] must be an http(s) URL (this gateway takes URLs only: no data "
                f"URLs, no base64; upload the file first), got {_show(item)}",
                name,
            )
    return value


def _image_urls(body: dict[str, Any], model: str) -> tuple[str, ...]:
    if "image_urls" not in body:
        return ()
    urls = _urls(body["image_urls"], "image_urls")
    if model == OFFICIAL:
        if len(urls) > MAX_OFFICIAL_IMAGES:
            raise RequestError(
                f"image_urls holds at most {MAX_OFFICIAL_IMAGES} images on {model}, "
                f"got {len(urls)}",
                "image_urls",
            )
    elif len(urls) not in (0, 1, 3):
        raise RequestError(
            f"image_urls must hold 0, 1 or 3 images on {model} (0 text-to-video, 1 "
            f"image-to-video, 3 reference fusion; never 2), got {len(urls)}",
            "image_urls",
        )
    return tuple(urls)


def _video_list(body: dict[str, Any]) -> tuple[str, ...]:
    if "video_list" not in body:
        return ()
    value = body["video_list"]
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_VIDEOS:
        raise RequestError(
            f'video_list must be an array of 1..{MAX_VIDEOS} {{"video_url": ...}} objects, '
            f"got {_show(value)}",
            "video_list",
        )
    urls = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"video_url"}:
            raise RequestError(
                f'video_list[{index}] must be {{"video_url": "https://..."}}, got {_show(item)}',
                "video_list",
            )
        urls.append(item["video_url"])
    return tuple(_urls(urls, "video_list"))


def _metadata(body: dict[str, Any], model: str) -> str | None:
    """The official variant's `metadata.task`, after checking its numbers; None elsewhere."""
    if "metadata" not in body:
        return None
    metadata = body["metadata"]
    if not isinstance(metadata, dict):
        raise RequestError(f"metadata must be an object, got {_show(metadata)}", "metadata")
    if model != OFFICIAL:
        return None
    for name, high in (("temperature", 2), ("top_p", 1)):
        value = metadata.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
            raise RequestError(
                f"metadata.{name} must be a number 0..{high}, got {_show(value)}", "metadata"
            )
    task = metadata.get("task")
    if task is not None and task not in TASKS:
        raise RequestError(
            f"metadata.task must be one of {', '.join(TASKS)}, got {_show(task)}", "metadata"
        )
    return task


def _mode(model: str, task: str | None, images: tuple[str, ...], videos: tuple[str, ...]) -> str:
    """The EvoLink model of the same mode, from the image count or `metadata.task`."""
    if images and videos:
        raise RequestError("give image_urls or video_list, never both", "video_list")
    if model != OFFICIAL:
        return {0: T2V, 1: I2V}.get(len(images), REF)
    if task == "edit" or videos:
        if task != "edit":
            raise RequestError('video_list needs metadata.task "edit"', "metadata")
        if not videos:
            raise RequestError('metadata.task "edit" needs video_list (1..3 videos)', "video_list")
        return EDIT
    wanted = {"text_to_video": (0, 0), "image_to_video": (1, 1), "reference_to_video": (1, 10)}
    if task is not None:
        low, high = wanted[task]
        if not low <= len(images) <= high:
            count = str(low) if low == high else f"{low}..{high}"
            raise RequestError(
                f"metadata.task {task!r} needs {count} image_urls, got {len(images)}", "image_urls"
            )
        return {"text_to_video": T2V, "image_to_video": I2V}.get(task, REF)
    return {0: T2V, 1: I2V}.get(len(images), REF)
