"""What differs between the gateways the sandbox can speak: paths, request validation, answer
shapes, error bodies and task ids. One module per dialect implements `Dialect`; the routes, faults,
guard, records and rendering are shared.

A process speaks one dialect: both gateways create with `POST /v1/videos/generations`, so one
server cannot tell them apart by path.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._faults import Endpoint
    from ._tasks import Task
    from ._validate import CreateRequest

GATEWAYS = ("evolink", "toapis")
DEFAULT_GATEWAY = "evolink"


class Refused(Exception):
    """A create the service refuses for its content (ToAPIs' 422 `content_policy_violation`)."""


class Dialect(Protocol):
    """One gateway's wire format, as the sandbox serves it."""

    name: str
    title: str
    about: str
    """The plain-text page at `/`: the paths this dialect serves."""
    create_path: str
    query_route: str
    """The Starlette route of the task query, e.g. `/v1/tasks/{task_id:path}`."""
    records_file: str
    """The SQLite file name of task records in a state folder (one per dialect)."""
    foreign_task_status: int
    """The status a query for another key's task gets."""
    default_retry_after: int | None
    """Retry-After seconds on a 429 when the fault gives none (None: no header)."""

    def endpoint_of(self, method: str, path: str) -> Endpoint | None:
        """Which faultable endpoint a request targets, if any."""

    def validate(
        self, body: object, *, allow_loopback_callbacks: bool
    ) -> tuple[str, CreateRequest]:
        """The model named on the wire and the checked request; `RequestError` when invalid."""

    def directives(self, prompt: str) -> tuple[str, str | None]:
        """(text to render, scripted failure code); `DirectiveError` or `Refused`."""

    def error(self, endpoint: Endpoint, status: int, *, model: str = "") -> dict[str, Any]:
        """The gateway's error body for `status` on `endpoint`."""

    def invalid_request(self, message: str, param: str | None) -> dict[str, Any]:
        """A create-side 400 naming the offending parameter."""

    def refused(self, message: str) -> dict[str, Any]:
        """The 422 body of a create refused for its content."""

    def bad_task_id(self, task_id: str) -> dict[str, Any] | None:
        """A 400 body for an id of the wrong form, or None when it may be looked up."""

    def new_id(self, rng: random.Random, now: float) -> str:
        """A fresh task id in the gateway's format."""

    def create_body(self, task: Task) -> dict[str, Any]:
        """The create answer."""

    def query_body(self, task: Task, now: float, ttl: float) -> dict[str, Any]:
        """The query answer at monotonic time `now`; result URLs live `ttl` s after completion."""


def dialect(name: str | None = None) -> Dialect:
    """The dialect named `name` (None: EvoLink); ValueError naming the known ones otherwise."""
    name = DEFAULT_GATEWAY if name is None else name.strip().lower()
    if name == "evolink":
        from ._dialect_evolink import EVOLINK

        return EVOLINK
    if name == "toapis":
        from ._dialect_toapis import TOAPIS

        return TOAPIS
    raise ValueError(f"gateway must be one of {', '.join(GATEWAYS)}, got {name!r}")
