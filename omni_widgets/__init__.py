"""omni-widgets: Gemini Omni Flash video generation in Jupyter.

The public API lives here; every other module is private. The notebook layer (panel, magics)
is imported on first use, so scripts that only need the client do not pay for widgets.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .core.batch import GridStoppedError, Plan, plan, product
from .core.batch_run import GridRun
from .core.budget import BudgetExceededError, get_budget, set_budget
from .core.client import AsyncOmniClient, OmniClient
from .core.code import copy_as_code
from .core.errors import (
    APIError,
    AuthenticationError,
    ContentPolicyError,
    DownloadError,
    InsufficientQuotaError,
    InvalidRequestError,
    LongPromptWarning,
    MissingAPIKeyError,
    NotFoundError,
    OmniConnectionError,
    OmniError,
    OutcomeUnknownError,
    PermissionDeniedError,
    Problem,
    RateLimitError,
    ServerError,
    TaskFailedError,
    URLExpiredError,
    ValidationError,
    WaitTimeoutError,
)
from .core.html_report import report
from .core.ledger import Ledger, LedgerRecord
from .core.pricing import estimate_credits
from .core.requests import ImageToVideo, ReferenceToVideo, Request, TextToVideo, VideoEdit
from .core.result import Result
from .core.results import results
from .core.resume import ResumeOutcome
from .core.retry import RetryNotice
from .core.task import Task, TaskError
from .gateways import GATEWAYS, Gateway, get_gateway
from .gateways.json_input import from_json

if TYPE_CHECKING:
    from .magics.magics import load_ipython_extension, unload_ipython_extension
    from .notebook.gallery import Gallery, gallery
    from .notebook.grid import Grid, grid
    from .notebook.handle import TaskHandle
    from .notebook.panel import Panel, panel

logging.getLogger("omni_widgets").addHandler(logging.NullHandler())

_LAZY = {
    "Gallery": ".notebook.gallery",
    "gallery": ".notebook.gallery",
    "Panel": ".notebook.panel",
    "panel": ".notebook.panel",
    "TaskHandle": ".notebook.handle",
    "Grid": ".notebook.grid",
    "grid": ".notebook.grid",
    "load_ipython_extension": ".magics.magics",
    "unload_ipython_extension": ".magics.magics",
}


def __getattr__(name: str) -> Any:
    """Import the notebook layer's public names when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'omni_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "GATEWAYS",
    "APIError",
    "AsyncOmniClient",
    "AuthenticationError",
    "BudgetExceededError",
    "ContentPolicyError",
    "DownloadError",
    "Gallery",
    "Gateway",
    "Grid",
    "GridRun",
    "GridStoppedError",
    "ImageToVideo",
    "InsufficientQuotaError",
    "InvalidRequestError",
    "Ledger",
    "LedgerRecord",
    "LongPromptWarning",
    "MissingAPIKeyError",
    "NotFoundError",
    "OmniClient",
    "OmniConnectionError",
    "OmniError",
    "OutcomeUnknownError",
    "Panel",
    "PermissionDeniedError",
    "Plan",
    "Problem",
    "RateLimitError",
    "ReferenceToVideo",
    "Request",
    "Result",
    "ResumeOutcome",
    "RetryNotice",
    "ServerError",
    "Task",
    "TaskError",
    "TaskFailedError",
    "TaskHandle",
    "TextToVideo",
    "URLExpiredError",
    "ValidationError",
    "VideoEdit",
    "WaitTimeoutError",
    "__version__",
    "copy_as_code",
    "estimate_credits",
    "from_json",
    "gallery",
    "get_budget",
    "get_gateway",
    "grid",
    "load_ipython_extension",
    "panel",
    "plan",
    "product",
    "report",
    "results",
    "set_budget",
    "unload_ipython_extension",
]
