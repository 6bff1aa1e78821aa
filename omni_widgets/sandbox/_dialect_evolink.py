"""EvoLink's wire format: `GET /v1/tasks/{id}`, `task-unified-...` ids, pending/processing statuses
and the `usage` block; the bodies themselves live in `_tasks.py`, `_errors.py` and `_validate.py`,
written from the vendor's OpenAPI documents.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ._errors import invalid_request, invalid_task_id, vendor_error
from ._failures import parse_directives
from ._records import FILE_NAME
from ._tasks import ID_PREFIX, unified_id
from ._validate import CreateRequest, validate_create

if TYPE_CHECKING:
    from ._faults import Endpoint
    from ._tasks import Task

ABOUT = """omni-widgets sandbox: a local emulator of EvoLink's Gemini Omni Flash video API.

POST /v1/videos/generations     create a task (Authorization: Bearer <key>; JSON body)
GET  /v1/tasks/{task_id}        query it
GET  /files/<token>/<task_id>.mp4  the result video (the URL in the task's results)
GET|POST|DELETE /_sandbox/faults   inspect, add, clear faults (the sandbox's own key only)
GET|DELETE /_sandbox/log           request log, created tasks, callback attempts
GET|POST /_sandbox/config          speed, ttl (result URLs), record_ttl (task records)
"""


class EvoLinkDialect:
    """The sandbox's first and default dialect."""

    name = "evolink"
    title = "EvoLink"
    about = ABOUT
    create_path = "/v1/videos/generations"
    query_route = "/v1/tasks/{task_id:path}"
    records_file = FILE_NAME
    foreign_task_status = 403
    default_retry_after: int | None = None

    def endpoint_of(self, method: str, path: str) -> Endpoint | None:
        if method == "POST" and path == self.create_path:
            return "create"
        if method == "GET" and path.startswith("/v1/tasks/"):
            return "query"
        if method in ("GET", "HEAD") and path.startswith("/files/"):
            return "download"
        return None

    def validate(
        self, body: object, *, allow_loopback_callbacks: bool
    ) -> tuple[str, CreateRequest]:
        valid = validate_create(body, allow_loopback_callbacks=allow_loopback_callbacks)
        return valid.model, valid

    def directives(self, prompt: str) -> tuple[str, str | None]:
        return parse_directives(prompt)

    def error(self, endpoint: Endpoint, status: int, *, model: str = "") -> dict[str, Any]:
        if endpoint == "download":
            raise ValueError("download errors are storage errors, not API errors")
        return vendor_error(endpoint, status, model=model)

    def invalid_request(self, message: str, param: str | None) -> dict[str, Any]:
        return invalid_request(message, param)

    def refused(self, message: str) -> dict[str, Any]:
        raise NotImplementedError("EvoLink refuses content through failed tasks, not at create")

    def bad_task_id(self, task_id: str) -> dict[str, Any] | None:
        return None if task_id.startswith(ID_PREFIX) else invalid_task_id()

    def new_id(self, rng: random.Random, now: float) -> str:
        return unified_id(rng, now)

    def create_body(self, task: Task) -> dict[str, Any]:
        return task.create_body()

    def query_body(self, task: Task, now: float, ttl: float) -> dict[str, Any]:
        return task.query_body(now)


EVOLINK = EvoLinkDialect()
