"""omni-widgets: Gemini Omni Flash video generation in Jupyter.

The public API lives here; every other module is private. Apart from the gateway registry, each
public name is imported on first use, so ``%load_ext omni_widgets`` and scripts that only need the
client pay only for what they use.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__

# Eager: importing the gateways registers them, which get_gateway (and every client) needs.
from .gateways import GATEWAYS, Gateway, get_gateway

if TYPE_CHECKING:
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
    from .gateways.json_input import from_json
    from .magics.magics import load_ipython_extension, unload_ipython_extension
    from .notebook.gallery import Gallery, gallery
    from .notebook.grid import Grid, grid
    from .notebook.handle import TaskHandle
    from .notebook.panel import Panel, panel

logging.getLogger("omni_widgets").addHandler(logging.NullHandler())

_LAZY = {
    "GridStoppedError": ".core.batch",
    "Plan": ".core.batch",
    "plan": ".core.batch",
    "product": ".core.batch",
    "GridRun": ".core.batch_run",
    "BudgetExceededError": ".core.budget",
    "get_budget": ".core.budget",
    "set_budget": ".core.budget",
    "AsyncOmniClient": ".core.client",
    "OmniClient": ".core.client",
    "copy_as_code": ".core.code",
    "APIError": ".core.errors",
    "AuthenticationError": ".core.errors",
    "ContentPolicyError": ".core.errors",
    "DownloadError": ".core.errors",
    "InsufficientQuotaError": ".core.errors",
    "InvalidRequestError": ".core.errors",
    "LongPromptWarning": ".core.errors",
    "MissingAPIKeyError": ".core.errors",
    "NotFoundError": ".core.errors",
    "OmniConnectionError": ".core.errors",
    "OmniError": ".core.errors",
    "OutcomeUnknownError": ".core.errors",
    "PermissionDeniedError": ".core.errors",
    "Problem": ".core.errors",
    "RateLimitError": ".core.errors",
    "ServerError": ".core.errors",
    "TaskFailedError": ".core.errors",
    "URLExpiredError": ".core.errors",
    "ValidationError": ".core.errors",
    "WaitTimeoutError": ".core.errors",
    "report": ".core.html_report",
    "Ledger": ".core.ledger",
    "LedgerRecord": ".core.ledger",
    "estimate_credits": ".core.pricing",
    "ImageToVideo": ".core.requests",
    "ReferenceToVideo": ".core.requests",
    "Request": ".core.requests",
    "TextToVideo": ".core.requests",
    "VideoEdit": ".core.requests",
    "Result": ".core.result",
    "results": ".core.results",
    "ResumeOutcome": ".core.resume",
    "RetryNotice": ".core.retry",
    "Task": ".core.task",
    "TaskError": ".core.task",
    "from_json": ".gateways.json_input",
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
    """Import a public name's module when the name is first asked for."""
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
