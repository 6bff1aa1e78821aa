"""Copy as code: a recorded or live request as a Python call, a curl command or its JSON body.

The hand-off from a notebook to a pipeline: the same request, written for this project's client,
for the shell, or as the raw body the gateway takes. The API key is always the environment
variable ``$OMNI_API_KEY``, never its value.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .errors import Problem, ValidationError
from .ledger import EVOLINK, LedgerRecord, describe_request
from .requests import MODELS, Request
from .settings import DEFAULT_BASE_URL
from .task import Task

Kind = Literal["python", "curl", "json"]
KINDS: tuple[Kind, ...] = ("python", "curl", "json")
KEY_VARIABLE = "OMNI_API_KEY"
CREATE_PATH = "/v1/videos/generations"
TOAPIS = "toapis"
#: Each gateway's own address; a base URL equal to it is left out of the generated Python.
DEFAULT_BASE_URLS = {EVOLINK: DEFAULT_BASE_URL, TOAPIS: "https://toapis.com"}
#: ToAPIs' model for the three timed modes, and its only model that edits videos.
TOAPIS_MODEL = "gemini_omni_flash"
TOAPIS_EDIT_MODEL = "gemini-omni-flash-preview-official"
#: Stands in for a local image (recorded by path, never its bytes) in JSON and curl.
LOCAL_IMAGE = "<a public https URL or data: URL of {path}>"

_CLASS_ARGS = {
    "TextToVideo": (),
    "ImageToVideo": ("image",),
    "ReferenceToVideo": ("images",),
    "VideoEdit": ("video_url",),
}


@dataclass(frozen=True)
class CodeSource:
    """What the code is made of: the recorded payload, its gateway and base URL."""

    payload: Mapping[str, Any]
    gateway: str
    base_url: str

    @property
    def mode(self) -> str:
        """The request class name: TextToVideo, ImageToVideo, ReferenceToVideo or VideoEdit."""
        cls = MODELS.get(str(self.payload.get("model", "")))
        return cls.__name__ if cls is not None else "TextToVideo"


def copy_as_code(
    source: Request | Task | LedgerRecord | Mapping[str, Any],
    kind: Kind = "python",
    *,
    base_url: str | None = None,
    gateway: str | None = None,
) -> str:
    """The request behind a task, record or request as ``kind``: "python", "curl" or "json".

    ``base_url`` and ``gateway`` default to the record's own (a request or task alone: EvoLink's
    public address). The key is read from ``$OMNI_API_KEY`` by the generated code.
    """
    if kind not in KINDS:
        raise ValidationError(
            "copy_as_code",
            [Problem("kind", kind, "one of " + ", ".join(repr(k) for k in KINDS), "not offered")],
        )
    code = code_source(source, base_url=base_url, gateway=gateway)
    if kind == "python":
        return python_code(code)
    if kind == "curl":
        return curl_code(code)
    return json.dumps(request_body(code), indent=2, ensure_ascii=False)


def code_source(
    source: Request | Task | LedgerRecord | Mapping[str, Any],
    *,
    base_url: str | None = None,
    gateway: str | None = None,
) -> CodeSource:
    """The payload, gateway and base URL of any of the accepted sources."""
    payload: Mapping[str, Any] | None
    recorded_gateway, recorded_url = EVOLINK, None
    if isinstance(source, Request):
        payload = describe_request(source)
    elif isinstance(source, Task):
        if source.request is None:
            raise ValidationError(
                "copy_as_code",
                [
                    Problem(
                        "task",
                        source.id,
                        "a task this session created, or its ledger record (client.history())",
                        f"task {source.id} carries no request",
                    )
                ],
            )
        payload = describe_request(source.request)
    elif isinstance(source, LedgerRecord):
        payload = source.request
        recorded_gateway, recorded_url = source.gateway, source.base_url
        if payload is None:
            raise ValidationError(
                "copy_as_code",
                [
                    Problem(
                        "record",
                        source.task_id,
                        "a record with its request (tasks created through omni-widgets)",
                        f"task {source.task_id} was recorded without its request",
                    )
                ],
            )
    elif isinstance(source, Mapping):
        payload = source
    else:
        raise ValidationError(
            "copy_as_code",
            [
                Problem(
                    "source",
                    source,
                    "a Request, Task, LedgerRecord or request dict",
                    f"{type(source).__name__} is not one",
                )
            ],
        )
    name = gateway or recorded_gateway
    url = (base_url or recorded_url or DEFAULT_BASE_URLS.get(name, DEFAULT_BASE_URL)).rstrip("/")
    return CodeSource(dict(payload), name, url)


def python_code(code: CodeSource) -> str:
    """A short script that makes the same request with this project's client and saves it."""
    payload = code.payload
    mode = code.mode
    args = [repr(payload.get("prompt", ""))]
    for name in _CLASS_ARGS[mode]:
        args.append(f"{name}={_python_value(name, payload)}")
    for name in ("duration", "aspect_ratio", "resolution", "callback_url"):
        value = payload.get(name)
        if value is not None and (mode != "VideoEdit" or name == "callback_url"):
            args.append(f"{name}={value!r}")
    client_args = [f'os.environ["{KEY_VARIABLE}"]']
    if code.base_url != DEFAULT_BASE_URLS.get(code.gateway):
        client_args.append(f"base_url={code.base_url!r}")
    if code.gateway != EVOLINK:
        client_args.append(f"gateway={code.gateway!r}")
    call = ",\n    ".join(args)
    return (
        "import os\n\n"
        f"from omni_widgets import OmniClient, {mode}\n\n"
        f"client = OmniClient({', '.join(client_args)})\n"
        f"request = {mode}(\n    {call},\n)\n"
        "result = client.generate(request)  # creates the task, waits, saves the MP4\n"
        "print(result.task.id, result.path)\n"
    )


def curl_code(code: CodeSource) -> str:
    """A curl command that creates the same task; the key comes from ``$OMNI_API_KEY``."""
    body = json.dumps(request_body(code), ensure_ascii=False)
    return (
        f"curl -sS -X POST {shlex.quote(code.base_url + CREATE_PATH)} \\\n"
        f'  -H "Authorization: Bearer ${KEY_VARIABLE}" \\\n'
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(body)}\n"
    )


def request_body(code: CodeSource) -> dict[str, Any]:
    """The JSON body the gateway takes for this request (local images as a placeholder)."""
    payload = {key: value for key, value in code.payload.items() if value is not None}
    if "image_urls" in payload:
        payload["image_urls"] = [_image_text(image) for image in payload["image_urls"]]
    if code.gateway != TOAPIS:
        return payload
    return _toapis_body(payload, code.mode)


def _toapis_body(payload: dict[str, Any], mode: str) -> dict[str, Any]:
    """ToAPIs' flat body (its API reference): one model name; edits only by its official one."""
    if mode == "VideoEdit":
        body: dict[str, Any] = {
            "model": TOAPIS_EDIT_MODEL,
            "prompt": payload["prompt"],
            "video_list": [{"video_url": url} for url in payload.get("video_urls", [])],
            "metadata": {"task": "edit"},
        }
    else:
        body = {"model": TOAPIS_MODEL}
        for name in ("prompt", "duration", "aspect_ratio", "resolution", "image_urls"):
            if name in payload:
                body[name] = payload[name]
    return body


def _python_value(name: str, payload: Mapping[str, Any]) -> str:
    if name == "video_url":
        urls = payload.get("video_urls") or [""]
        return repr(urls[0])
    images = [_image_source(image) for image in payload.get("image_urls", [])]
    if name == "image":
        return repr(images[0] if images else "")
    return repr(images)


def _image_source(image: Any) -> str:
    """An image as the Python call takes it: its URL, or the local file it was read from."""
    if isinstance(image, Mapping):
        path = image.get("path")
        return str(path) if path else "PATH_OF_THE_IMAGE (it was given as bytes)"
    return str(image)


def _image_text(image: Any) -> str:
    if isinstance(image, Mapping):
        return LOCAL_IMAGE.format(path=image.get("path") or "the image")
    return str(image)
