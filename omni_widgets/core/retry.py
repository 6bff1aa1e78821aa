"""When a failed request may be sent again, and how long to wait first.

Reads are retried on anything transient. A create is retried only when the service provably did
not receive it (a connection refused before sending, a 429), because a second task would be billed
twice: a 5xx answer to a create can come after the task was made.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

logger = logging.getLogger("omni_widgets")

BASE_DELAY_S = 1.0
MAX_DELAY_S = 30.0
MAX_RETRY_AFTER_S = 120.0

# Failures that happen before any byte of the request leaves this machine.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class RetryNotice:
    """A retry about to happen, for a UI to show: what failed and when it is tried again."""

    reason: str
    delay: float
    attempt: int
    attempts: int
    task_id: str | None = None

    @property
    def message(self) -> str:
        about = f" (task {self.task_id})" if self.task_id else ""
        return (
            f"{self.reason}, retrying in {self.delay:.{0 if self.delay >= 10 else 1}f} s, "
            f"attempt {self.attempt} of {self.attempts}{about}"
        )

    def __str__(self) -> str:
        return self.message


@dataclass
class RetryPolicy:
    """Decides, attempt by attempt, whether to retry and after how long."""

    max_retries: int = 5
    rng: Callable[[], float] = random.random

    def backoff(self, retry: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(retry-1))]."""
        return self.rng() * min(MAX_DELAY_S, BASE_DELAY_S * 2.0 ** (retry - 1))

    def after_status(
        self, response: httpx.Response, retries_done: int, create: bool
    ) -> float | None:
        """The delay before retrying an HTTP error answer, or None when it must not be retried.

        A create is retried only on a 429; a 5xx answer to a create is an unknown outcome.
        """
        status = response.status_code
        retryable = status == 429 or (status >= 500 and not create)
        if not retryable or retries_done >= self.max_retries:
            return None
        waited = retry_after(response.headers.get("Retry-After"))
        return waited if waited is not None else self.backoff(retries_done + 1)

    def after_error(self, exc: httpx.HTTPError, retries_done: int, create: bool) -> float | None:
        """The delay before retrying a transport failure, or None when it must not be retried."""
        if retries_done >= self.max_retries:
            return None
        if create and not isinstance(exc, NOT_SENT):
            return None
        return self.backoff(retries_done + 1)


def retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP date), capped at 120 s."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - now()
    return max(0.0, min(MAX_RETRY_AFTER_S, seconds))


def describe_failure(failure: httpx.Response | httpx.HTTPError) -> str:
    """A few words for a retry notice: 'rate limited', 'server error 502', 'read timeout'."""
    if isinstance(failure, httpx.Response):
        if failure.status_code == 429:
            return "rate limited"
        return f"server error {failure.status_code}"
    if isinstance(failure, httpx.TimeoutException):
        return "timed out"
    return f"connection failed ({type(failure).__name__})"
