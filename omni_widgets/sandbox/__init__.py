"""A local emulator of EvoLink's (or ToAPIs') Gemini Omni Flash API: real MP4s, scripted failures,
faults.

    from omni_widgets.sandbox import Sandbox
    with Sandbox(speed=float("inf")) as sb:
        ...  # point a client at sb.base_url with sb.api_key

It serves the vendor's `POST /v1/videos/generations` and `GET /v1/tasks/{task_id}` for all four
models, validating requests from the vendor's documents, and result videos at `/files/<id>.mp4`
(valid for `ttl` after completion, then 403 with an S3-style "Request has expired" XML body).

- Keys: any non-empty bearer key works (`any_key=False`: only `sb.api_key`, random per sandbox);
  `sk-sandbox-401`, `-402`, `-403` always get that error. `/_sandbox/` needs `sb.api_key`.
- Refused like a careful local service: foreign Host headers (421), non-JSON POSTs (415), bodies
  over `max_body` (413); result URLs carry a random token.
- Business failures: put `[[fail:<code>]]` in the prompt (any code from the vendor's list, e.g.
  `[[fail:content_policy_violation]]`); the task goes pending, processing, then failed.
- Faults: `sb.faults.rate_limit(on="create", count=2, retry_after=1)`, `.server_error(...)`
  (`after=True`: create the task, then answer 500), `.drop(...)`, `.malformed(...)`,
  `.truncate(on="download")`, `.html(on="download")`, `.latency(seconds, ...)`, `.clear()`; or
  over HTTP with `GET/POST/DELETE /_sandbox/faults` (see `Fault` for the options).
- Counting: `sb.requests`, `sb.created_task_ids`, `sb.callback_attempts`, `sb.reset_log()`; via
  HTTP `GET/DELETE /_sandbox/log`. `GET/POST /_sandbox/config` reads or sets speed and ttl.

- Records: `Sandbox(state_dir=...)` keeps task records on disk (a restart still answers for
  earlier tasks and serves their videos); they expire `record_ttl` after creation (7 days).

- Gateways: `Sandbox(gateway="toapis")` speaks ToAPIs instead (its flat create body, `GET
  /v1/videos/generations/{id}`, `video_...` ids, queued/in_progress, `result.data[].url`,
  `expires_at`, 422 for a prompt with `[[refuse]]`, Retry-After on every 429; no callbacks). One
  dialect per sandbox: both gateways create on the same path.

Run it standalone with `python -m omni_widgets.sandbox --help` (or `omni-sandbox`).

The notebook front ends, when no key is set, share one such process between the user's kernels:
`start_shared()` finds it through `sandbox_home()/sandbox.json` (`$OMNI_SANDBOX_HOME`, else
`~/.cache/omni-widgets`) or starts it detached; it exits after `DEFAULT_IDLE_EXIT` (2 h) without
requests, and `stop_shared()` ends it at once. `SharedSandbox` is a handle on it over HTTP. Each
gateway has its own shared process: `start_shared(gateway="toapis")` uses `sandbox-toapis.json`.
"""

from ._auth import DEMO_KEY, SPECIAL_KEYS
from ._faults import Fault, Faults
from ._log import CallbackAttempt, RequestRecord
from ._server import Sandbox
from ._shared import (
    DEFAULT_IDLE_EXIT,
    SharedSandbox,
    find_shared,
    sandbox_home,
    start_shared,
    stop_shared,
)

__all__ = [
    "DEFAULT_IDLE_EXIT",
    "DEMO_KEY",
    "SPECIAL_KEYS",
    "CallbackAttempt",
    "Fault",
    "Faults",
    "RequestRecord",
    "Sandbox",
    "SharedSandbox",
    "find_shared",
    "sandbox_home",
    "start_shared",
    "stop_shared",
]
