"""Requests from pasted JSON: ToAPIs' guide form ``{model, mode, input}`` and each gateway's own
flat create body, translated into the neutral request classes.

Every problem names its JSON path (``input.duration: 5 is not accepted; allowed: 6 or 10 on
toapis``), whether the request class or the gateway's limits found it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..core.errors import Problem, ValidationError, short_repr
from ..core.gateway import Gateway, get_gateway
from ..core.requests import (
    MODELS,
    ImageToVideo,
    ReferenceToVideo,
    Request,
    TextToVideo,
    VideoEdit,
)
from .toapis import EDIT_MODEL

MODES: dict[str, type[Request]] = {
    "text-to-video": TextToVideo,
    "t2v": TextToVideo,
    "image-to-video": ImageToVideo,
    "i2v": ImageToVideo,
    "r2v": ReferenceToVideo,
    "reference-to-video": ReferenceToVideo,
    "video-edit": VideoEdit,
    "edit": VideoEdit,
}
MODES_ALLOWED = (
    "text-to-video, image-to-video, r2v or video-edit (any case; also reference-to-video, edit)"
)
TOAPIS_MODELS = ("gemini_omni_flash", "gemini-omni-flash", "gemini_omni", EDIT_MODEL)
TOAPIS_TASKS: dict[str, type[Request]] = {
    "text_to_video": TextToVideo,
    "image_to_video": ImageToVideo,
    "reference_to_video": ReferenceToVideo,
    "edit": VideoEdit,
}
TIMED_FIELDS = ("prompt", "duration", "aspect_ratio", "resolution", "callback_url")
_INDEXED = re.compile(r"(\w+)\[(\d+)\](.*)")


def from_json(
    data: str | bytes | Mapping[str, Any], gateway: str | Gateway | None = None
) -> Request:
    """The typed request for pasted JSON (text or a parsed object).

    Takes ToAPIs' guide form ``{"model", "mode", "input": {...}}``, EvoLink's create body or
    ToAPIs' flat create body. The request is checked against ``gateway`` (None: the gateway the
    JSON is written for); a ValidationError names the JSON path of every bad field.
    """
    return parse_json(data, gateway)[0]


def parse_json(
    data: str | bytes | Mapping[str, Any], gateway: str | Gateway | None = None
) -> tuple[Request, Gateway]:
    """The request and the gateway it was checked against (the one the JSON is written for when
    ``gateway`` is None)."""
    body = _loaded(data)
    if "mode" in body or "input" in body:
        form = _guide(body)
        written_for = "toapis"
    else:
        form = _flat(body)
        written_for = "toapis" if body.get("model") in TOAPIS_MODELS else "evolink"
    chosen = get_gateway(gateway if gateway is not None else written_for)
    return _build(form, chosen), chosen


def read_json(
    data: str | bytes | Mapping[str, Any],
) -> tuple[type[Request], dict[str, Any], str]:
    """The request class, its keyword arguments as written and the gateway the JSON is written
    for, without checking values (for filling a form); ValidationError if its shape is wrong."""
    body = _loaded(data)
    guide_form = "mode" in body or "input" in body
    form = _guide(body) if guide_form else _flat(body)
    if form.cls is None or form.problems:
        raise ValidationError("JSON", form.problems)
    toapis = guide_form or body.get("model") in TOAPIS_MODELS
    return form.cls, dict(form.kwargs), "toapis" if toapis else "evolink"


class _Form:
    """A request class and its keyword arguments, each with the JSON path it came from."""

    def __init__(self, cls: type[Request] | None) -> None:
        self.cls = cls
        self.kwargs: dict[str, Any] = {}
        self.paths: dict[str, str] = {}
        self.problems: list[Problem] = []

    def take(self, name: str, value: Any, path: str) -> None:
        self.kwargs[name] = value
        self.paths[name] = path

    def path(self, field: str) -> str:
        """The JSON path of a request field (``images[2]`` -> ``input.image_urls[2]``)."""
        if field in self.paths:
            return self.paths[field]
        match = _INDEXED.fullmatch(field)
        if match and match[1] in self.paths:
            return f"{self.paths[match[1]]}[{match[2]}]{match[3]}"
        return self.paths.get("", "") + field if field else field


def _loaded(data: Any) -> dict[str, Any]:
    if isinstance(data, str | bytes | bytearray):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            wrong = f"not JSON ({exc})" if str(data).strip() else "empty"
            raise ValidationError("JSON", [Problem("JSON", data, "a JSON object", wrong)]) from None
    if not isinstance(data, Mapping):
        wrong = f"a JSON {type(data).__name__}, not an object"
        raise ValidationError("JSON", [Problem("JSON", data, "a JSON object", wrong)])
    return dict(data)


def _guide(body: dict[str, Any]) -> _Form:
    """ToAPIs' model guide: ``{"model", "mode", "input": {prompt, duration, ...}}``."""
    mode = body.get("mode")
    key = mode.strip().lower().replace("_", "-") if isinstance(mode, str) else None
    form = _Form(MODES.get(key or ""))
    if form.cls is None:
        wrong = "missing" if mode is None else f"{short_repr(mode)} is not a mode"
        form.problems.append(Problem("mode", mode, MODES_ALLOWED, wrong))
    for name in body:
        if name not in ("model", "mode", "input"):
            form.problems.append(Problem(name, body[name], "model, mode and input", "unknown"))
    given = body.get("input")
    if not isinstance(given, Mapping):
        wrong = "missing" if given is None else f"a {type(given).__name__}, not an object"
        form.problems.append(Problem("input", given, "an object with prompt, duration ...", wrong))
        return form
    _fields(form, dict(given), "input.")
    return form


def _flat(body: dict[str, Any]) -> _Form:
    """A gateway's own create body: EvoLink's (model names the mode) or ToAPIs' (image count,
    ``video_list`` or ``metadata.task`` name it)."""
    model = body.get("model")
    form = _Form(None)
    if isinstance(model, str) and model in MODELS:
        form.cls = MODELS[model]
    elif isinstance(model, str) and model in TOAPIS_MODELS:
        metadata = body.get("metadata")
        task = metadata.get("task") if isinstance(metadata, Mapping) else None
        images = body.get("image_urls")
        count = len(images) if isinstance(images, list) else 0
        by_count = TextToVideo if count == 0 else ImageToVideo if count == 1 else ReferenceToVideo
        form.cls = VideoEdit if "video_list" in body else TOAPIS_TASKS.get(str(task), by_count)
    else:
        known = ", ".join([*MODELS, *TOAPIS_MODELS])
        wrong = "missing" if model is None else f"{short_repr(model)} is not a known model"
        form.problems.append(Problem("model", model, f"one of {known}", wrong))
        return form
    rest = {k: v for k, v in body.items() if k not in ("model", "metadata")}
    _fields(form, rest, "")
    return form


def _fields(form: _Form, given: dict[str, Any], prefix: str) -> None:
    """Map JSON fields onto the request class's keyword arguments."""
    cls = form.cls
    form.paths[""] = prefix
    for name in list(given):
        value = given[name]
        path = f"{prefix}{name}"
        if name in TIMED_FIELDS and (name in ("prompt", "callback_url") or cls is not VideoEdit):
            form.take(name, value, path)
        elif name in ("image_urls", "image_url", "images") and cls is ImageToVideo:
            listed = isinstance(value, list)
            if listed and len(value) != 1:
                form.problems.append(
                    Problem(path, value, "exactly 1 image URL", f"{len(value)} images given")
                )
            form.take(
                "image", value[0] if listed and value else value, path + ("[0]" if listed else "")
            )
        elif name in ("image_urls", "images") and cls is ReferenceToVideo:
            form.take("images", value, path)
        elif name in ("video_url", "video_urls", "video_list") and cls is VideoEdit:
            form.take("video_url", *_video(value, path, form))
        elif name == "image_urls" and cls is TextToVideo and value == []:
            continue
        else:
            allowed_here = _allowed(cls)
            wrong = "not a field of this request"
            form.problems.append(Problem(path, value, f"one of {allowed_here}", wrong))


def _video(value: Any, path: str, form: _Form) -> tuple[Any, str]:
    """The one URL of ``video_url``, ``video_urls: [url]`` or ``video_list: [{video_url}]``."""
    if isinstance(value, list):
        if len(value) != 1:
            form.problems.append(
                Problem(path, value, "exactly 1 video", f"{len(value)} videos given")
            )
        first = value[0] if value else None
        if isinstance(first, Mapping):
            return first.get("video_url"), f"{path}[0].video_url"
        return first, f"{path}[0]"
    return value, path


def _allowed(cls: type[Request] | None) -> str:
    if cls is VideoEdit:
        return "prompt, video_url (or video_urls, video_list), callback_url"
    extras: dict[type[Request] | None, str] = {
        ImageToVideo: ", image_urls (1)",
        ReferenceToVideo: ", image_urls",
    }
    extra = extras.get(cls, "")
    return "prompt, duration, aspect_ratio, resolution, callback_url" + extra


def _build(form: _Form, gateway: Gateway) -> Request:
    """Construct the request with the gateway's defaults; raise every problem with its path."""
    problems = list(form.problems)
    kind = f"{form.cls.__name__ if form.cls else 'request'} from JSON"
    if form.cls is None:
        raise ValidationError(kind, problems)
    kwargs = dict(form.kwargs)
    if "prompt" not in kwargs:
        problems.append(
            Problem(form.path("prompt"), None, "a text describing the video", "missing")
        )
        raise ValidationError(kind, problems)
    if form.cls is not VideoEdit:
        kwargs.setdefault("duration", gateway.defaults.duration)
        kwargs.setdefault("aspect_ratio", gateway.defaults.aspect_ratio)
    positional = {ImageToVideo: "image", ReferenceToVideo: "images", VideoEdit: "video_url"}
    needed = positional.get(form.cls)
    if needed is not None and needed not in kwargs:
        name = {"image": "image_urls", "images": "image_urls", "video_url": "video_url"}[needed]
        problems.append(Problem(form.path("") + name, None, "required for this mode", "missing"))
        raise ValidationError(kind, problems)
    try:
        request = form.cls(**kwargs)
    except ValidationError as exc:
        problems.extend(_moved(p, form) for p in exc.problems)
        raise ValidationError(kind, problems) from None
    problems.extend(_moved(p, form) for p in gateway.problems(request))
    if problems:
        raise ValidationError(kind, problems)
    return request


def _moved(problem: Problem, form: _Form) -> Problem:
    return Problem(form.path(problem.field), problem.value, problem.allowed, problem.wrong)
