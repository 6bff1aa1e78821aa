"""omni-widgets: Gemini Omni Flash video generation in Jupyter.

The public API lives here; every other module is private.
"""

import logging

from ._client import AsyncOmniClient, OmniClient
from ._errors import (
    APIError,
    AuthenticationError,
    DownloadError,
    InsufficientQuotaError,
    InvalidRequestError,
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
from ._magics import load_ipython_extension, unload_ipython_extension
from ._panel import Panel, panel
from ._requests import ImageToVideo, ReferenceToVideo, Request, TextToVideo, VideoEdit
from ._result import Result
from ._retry import RetryNotice
from ._task import Task, TaskError
from ._version import __version__

logging.getLogger("omni_widgets").addHandler(logging.NullHandler())

__all__ = [
    "APIError",
    "AsyncOmniClient",
    "AuthenticationError",
    "DownloadError",
    "ImageToVideo",
    "InsufficientQuotaError",
    "InvalidRequestError",
    "MissingAPIKeyError",
    "NotFoundError",
    "OmniClient",
    "OmniConnectionError",
    "OmniError",
    "OutcomeUnknownError",
    "Panel",
    "PermissionDeniedError",
    "Problem",
    "RateLimitError",
    "ReferenceToVideo",
    "Request",
    "Result",
    "RetryNotice",
    "ServerError",
    "Task",
    "TaskError",
    "TaskFailedError",
    "TextToVideo",
    "URLExpiredError",
    "ValidationError",
    "VideoEdit",
    "WaitTimeoutError",
    "__version__",
    "load_ipython_extension",
    "panel",
    "unload_ipython_extension",
]
