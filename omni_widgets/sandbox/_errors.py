"""The error bodies the sandbox sends, copied from the vendor's examples so refusals read like the
real ones.

JSON bodies follow the vendor's ErrorResponse documents (create and query differ in codes and
messages); download errors imitate an S3-style signed-URL store, because result files live on object
storage.
"""

from __future__ import annotations

from typing import Any, Literal
from xml.sax.saxutils import escape

Endpoint = Literal["create", "query"]

# (code, message, type) per HTTP status, from the examples in evolink/*.json.
_VENDOR: dict[Endpoint, dict[int, tuple[str, str, str]]] = {
    "create": {
        401: ("unauthorized", "Invalid or expired token", "authentication_error"),
        402: (
            "insufficient_quota",
            "Insufficient quota. Please top up your account.",
            "insufficient_quota",
        ),
        403: (
            "model_access_denied",
            "Token does not have access to model: {model}",
            "invalid_request_error",
        ),
        429: (
            "rate_limit_exceeded",
            "Too many requests, please try again later",
            "rate_limit_error",
        ),
        500: ("internal_error", "Internal server error", "api_error"),
    },
    "query": {
        401: ("unauthorized", "Authentication required", "authentication_error"),
        402: (
            "quota_exceeded",
            "Insufficient quota. Please top up your account.",
            "insufficient_quota",
        ),
        403: (
            "permission_denied",
            "You don't have permission to access this task",
            "invalid_request_error",
        ),
        404: ("task_not_found", "The requested task could not be found", "invalid_request_error"),
        429: ("rate_limit_exceeded", "Rate limit exceeded", "evo_api_error"),
        500: ("internal_error", "Failed to retrieve task status", "api_error"),
    },
}


def error_body(code: str, message: str, type_: str, param: str | None = None) -> dict[str, Any]:
    """Build `{"error": {...}}`, adding `param` only when there is one (as the vendor does)."""
    error: dict[str, Any] = {"code": code, "message": message, "type": type_}
    if param is not None:
        error["param"] = param
    return {"error": error}


def vendor_error(endpoint: Endpoint, status: int, *, model: str = "") -> dict[str, Any]:
    """The vendor's documented body for `status` on `endpoint`."""
    code, message, type_ = _VENDOR[endpoint][status]
    return error_body(code, message.format(model=model), type_)


def invalid_request(message: str, param: str | None) -> dict[str, Any]:
    """A create-side 400 naming the offending parameter."""
    return error_body("invalid_request", message, "invalid_request_error", param)


def invalid_task_id() -> dict[str, Any]:
    """The query-side 400 for an id that does not start with `task-unified-`."""
    return error_body(
        "invalid_task_id",
        "Invalid task ID format, must start with 'task-unified-'",
        "invalid_request_error",
        "task_id",
    )


def not_found(path: str) -> dict[str, Any]:
    """JSON 404 for paths the API does not have (undocumented by the vendor; same shape)."""
    return error_body("not_found", f"Unknown path: {path}", "invalid_request_error")


def method_not_allowed(method: str, path: str) -> dict[str, Any]:
    """JSON 405 for a known path with the wrong method."""
    return error_body(
        "method_not_allowed", f"Method {method} is not allowed on {path}", "invalid_request_error"
    )


# S3's wording for the storage side: (code, message) per status.
_STORAGE: dict[int, tuple[str, str]] = {
    403: ("AccessDenied", "Request has expired"),
    404: ("NoSuchKey", "The specified key does not exist."),
    429: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
}


def storage_error(status: int, resource: str, extra: dict[str, str] | None = None) -> str:
    """An S3-style XML error, e.g. the 403 "Request has expired" of an expired signed URL."""
    code, message = _STORAGE[status]
    fields = {"Code": code, "Message": message, **(extra or {}), "Resource": resource}
    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>'
