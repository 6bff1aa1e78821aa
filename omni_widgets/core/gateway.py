"""What a gateway is: the data and small mapping functions that differ between services.

The protocol, retry rules, ledger, download and UI are one; a :class:`Gateway` tells them the
paths, the create body, how to read a task, the id shape, the error table and the limits. The
instances live in ``omni_widgets.gateways`` (one module each), which fills :data:`GATEWAYS`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import (
    APIError,
    AuthenticationError,
    InsufficientQuotaError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    RateLimitError,
    ValidationError,
    short_repr,
)
from .ids import KNOWN_TASK_IDS, url_segment

if TYPE_CHECKING:
    from .requests import Request
    from .task import Task

GATEWAY_VARIABLE = "OMNI_GATEWAY"
DEFAULT_GATEWAY = "evolink"

Retry = Literal["never", "reads", "always"]


@dataclass(frozen=True)
class ErrorRule:
    """How one HTTP error status is raised and whether it may be sent again.

    ``never``: not even a read (a content-policy refusal); ``reads``: queries and downloads only
    (a create may have made its task); ``always``: also a create (a 429 was provably refused).
    """

    error: type[APIError]
    retry: Retry = "never"


# The statuses both gateways document alike; a gateway's own table adds to these.
COMMON_ERRORS: Mapping[int, ErrorRule] = {
    400: ErrorRule(InvalidRequestError),
    401: ErrorRule(AuthenticationError),
    402: ErrorRule(InsufficientQuotaError),
    403: ErrorRule(PermissionDeniedError),
    404: ErrorRule(NotFoundError),
    429: ErrorRule(RateLimitError, "always"),
}


@dataclass(frozen=True)
class Limits:
    """What a gateway accepts, checked when a request is submitted, before anything is sent.

    ``durations`` are the allowed whole seconds; ``resolutions`` is empty where the gateway has no
    resolution field, and ``resolution_aspects`` restricts some resolutions to some aspect ratios.
    ``reference_images`` are the allowed image counts of a reference-to-video request.
    """

    durations: tuple[int, ...]
    auto_duration: bool
    aspect_ratios: tuple[str, ...]
    resolutions: tuple[str, ...] = ()
    resolution_aspects: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reference_images: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
    reference_note: str = ""  # why other counts are refused, for the message
    urls_only: bool = False
    callback_url: bool = True
    video_edit: bool = True

    def resolution(self, value: str) -> str | None:
        """The gateway's own spelling of a resolution given in any case, or None if unknown."""
        return next((r for r in self.resolutions if r.lower() == value.strip().lower()), None)

    def durations_text(self) -> str:
        """'3..10 or auto', '6 or 10': for messages and form hints."""
        values = list(self.durations)
        contiguous = len(values) > 2 and values == list(range(values[0], values[-1] + 1))
        text = f"{values[0]}..{values[-1]}" if contiguous else _either(values)
        return f"{text} or auto" if self.auto_duration else text


@dataclass(frozen=True)
class Defaults:
    """The form's starting values on this gateway."""

    duration: int | Literal["auto"]
    aspect_ratio: str
    resolution: str | None = None


@dataclass(frozen=True)
class Gateway:
    """One service that sells the model: its data and the functions that map to and from it."""

    name: str
    title: str
    default_base_url: str
    key_env: tuple[str, ...]
    create_path: str
    query_path: str  # with {task_id}
    statuses: Mapping[str, str]  # the service's status -> the neutral one
    task_id: re.Pattern[str]
    task_id_shape: str
    limits: Limits
    defaults: Defaults
    pricing: float  # credits per second of video
    body: Callable[[Request], dict[str, Any]]  # the create body, for a request within limits
    parse_task: Callable[[Any, Request | None], Task]
    errors: Mapping[int, ErrorRule] = field(default_factory=lambda: COMMON_ERRORS)
    first_poll_s: float | None = None  # None: half the task's estimated time
    poll_every_s: float = 3.0
    give_up_s: float | None = None
    batch_query: int = 0  # ids one query may ask for (0: no batch query)
    dashboard: str = ""  # where users see their tasks and billing (named in advice)
    extra_checks: Callable[[Request], list[Problem]] = field(default=lambda request: [])

    def path_of(self, task_id: str) -> str:
        """The query path of a (checked) task id."""
        return self.query_path.format(task_id=url_segment(task_id))

    def error_rule(self, status: int) -> ErrorRule:
        """The rule for an HTTP error status (5xx: retried on reads only)."""
        rule = self.errors.get(status)
        if rule is not None:
            return rule
        if status >= 500:
            from .errors import ServerError

            return ErrorRule(ServerError, "reads")
        return ErrorRule(APIError)

    def problems(self, request: Request) -> list[Problem]:
        """Every way ``request`` breaks this gateway's limits (empty: it may be sent)."""
        return [*limit_problems(self, request), *self.extra_checks(request)]

    def check(self, request: Request) -> None:
        """Raise ValidationError naming the gateway and its limit, before anything is sent."""
        problems = self.problems(request)
        if problems:
            raise ValidationError(type(request).__name__, problems)

    def __repr__(self) -> str:
        return f"Gateway({self.name!r}, {self.default_base_url!r})"


GATEWAYS: dict[str, Gateway] = {}


def register(*gateways: Gateway) -> dict[str, Gateway]:
    """Make gateways known by name (and their ids safe file names); the registry itself."""
    for gateway in gateways:
        GATEWAYS[gateway.name] = gateway
        if gateway.task_id not in KNOWN_TASK_IDS:
            KNOWN_TASK_IDS.append(gateway.task_id)
    return GATEWAYS


def get_gateway(name: str | Gateway | None = None) -> Gateway:
    """The gateway called ``name``; None: ``OMNI_GATEWAY`` or "evolink"."""
    if isinstance(name, Gateway):
        return name
    source = "gateway"
    if name is None:
        name = os.environ.get(GATEWAY_VARIABLE, "").strip() or DEFAULT_GATEWAY
        source = GATEWAY_VARIABLE
    key = name.strip().lower() if isinstance(name, str) else name
    if isinstance(key, str) and key in GATEWAYS:
        return GATEWAYS[key]
    allowed = "one of " + ", ".join(repr(n) for n in GATEWAYS)
    wrong = f"{short_repr(name)} is unknown"
    raise ValidationError("gateway", [Problem(source, name, allowed, wrong)])


def limit_problems(gateway: Gateway, request: Request) -> list[Problem]:
    """The request's fields checked against the gateway's limits; messages name the gateway."""
    from .requests import ImageToVideo, ReferenceToVideo, VideoEdit

    limits, on = gateway.limits, f"on {gateway.name}"
    problems: list[Problem] = []

    def refuse(name: str, value: Any, allowed: str, wrong: str = "") -> None:
        problems.append(Problem(name, value, f"{allowed} {on}", wrong))

    duration = getattr(request, "duration", None)
    if duration is not None:
        if duration == "auto" and not limits.auto_duration:
            refuse("duration", duration, limits.durations_text(), "'auto' is not offered")
        elif isinstance(duration, int) and duration not in limits.durations:
            refuse("duration", duration, limits.durations_text())
    aspect = getattr(request, "aspect_ratio", None)
    if aspect is not None and aspect not in limits.aspect_ratios:
        refuse("aspect_ratio", aspect, _either([repr(a) for a in limits.aspect_ratios]))
    resolution = getattr(request, "resolution", None)
    if isinstance(resolution, str):
        known = limits.resolution(resolution)
        if not limits.resolutions:
            refuse("resolution", resolution, "not offered (leave it out)")
        elif known is None:
            refuse("resolution", resolution, _either([repr(r) for r in limits.resolutions]))
        elif aspect is not None and aspect not in limits.resolution_aspects.get(known, (aspect,)):
            only = _either(list(limits.resolution_aspects[known]))
            refuse("resolution", resolution, f"{known} only with {only}", f"with {aspect}")
    images: tuple[str, ...] = ()
    if isinstance(request, ReferenceToVideo):
        images = request.images
        if len(images) not in limits.reference_images:
            note = f" ({limits.reference_note})" if limits.reference_note else ""
            count = len(images)
            refuse(
                "images",
                list(images),
                f"{_either([str(n) for n in limits.reference_images])} images{note}",
                f"{count} image{'' if count == 1 else 's'} given",
            )
    elif isinstance(request, ImageToVideo):
        images = (request.image,)
    if limits.urls_only:
        for i, image in enumerate(images):
            if not image.lower().startswith(("http://", "https://")):
                name = "image" if isinstance(request, ImageToVideo) else f"images[{i}]"
                refuse(
                    name,
                    image,
                    "an http(s) URL (this gateway takes URLs only: upload a local image "
                    "somewhere reachable first)",
                    "a local file or inline image data",
                )
    if getattr(request, "callback_url", None) is not None and not limits.callback_url:
        refuse("callback_url", request.callback_url, "not offered (leave it out)")  # type: ignore[attr-defined]
    if isinstance(request, VideoEdit) and not limits.video_edit:
        refuse("model", request.model, "no video edit")
    return problems


def _either(values: list[Any]) -> str:
    items = [str(v) for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
