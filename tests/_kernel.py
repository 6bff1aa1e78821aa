"""Drive a real ipykernel from tests with jupyter_client.

Why not nbclient: it records only messages tagged with the cell it is executing, so it misses
widget updates and output that asyncio tasks make after their cell finished (FIELD-NOTES).
``Kernel`` keeps every iopub message, routed by the request that caused it, so a test can run a
cell while an earlier cell's task is still running, and then ask the kernel about its state.

Typical use (the ``kernel`` fixture in ``conftest.py`` does the start and shutdown)::

    first = kernel.execute("t = asyncio.get_running_loop().create_task(work())")
    kernel.execute("x = 1")                      # runs while ``work()`` is still going
    kernel.wait_until("t.done()", timeout=10)    # poll kernel-side state
    assert kernel.value("result") == 42          # literal values come back as Python objects
"""

from __future__ import annotations

import ast
import contextlib
import os
import queue
import re
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

#: Variables removed from the environment of kernels and Lab servers that tests start, so that a
#: developer's real credentials or endpoints never leak into a test run. Tests opt back in
#: explicitly through ``env=`` overrides.
SCRUBBED_PREFIXES = ("OMNI_", "EVOLINK_")
SCRUBBED_NAMES = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_API_KEY")
KEPT_NAMES = ("OMNI_SANDBOX_HOME",)


def sanitized_env(overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """Return a copy of ``os.environ`` fit for a child kernel or Lab server.

    Credentials and ``OMNI_*``/``EVOLINK_*`` settings are removed (see ``SCRUBBED_*``) except
    ``OMNI_SANDBOX_HOME`` (the test session's private shared sandbox, see ``conftest.py``), this
    interpreter's ``bin`` directory goes first on ``PATH`` so the child uses the same
    virtualenv, and then ``overrides`` apply: a string sets a variable, ``None`` removes it.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k in KEPT_NAMES or (not k.startswith(SCRUBBED_PREFIXES) and k not in SCRUBBED_NAMES)
    }
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        [bindir, *[p for p in env.get("PATH", "").split(os.pathsep) if p]]
    )
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("JUPYTER_PLATFORM_DIRS", "1")  # silences jupyter_core's migration warning
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


class KernelError(AssertionError):
    """A cell raised in the kernel; the message carries the kernel's traceback as plain text."""


@dataclass
class ExecResult:
    """Everything one ``execute_request`` produced, in arrival order.

    ``outputs`` holds the iopub ``content`` dicts of ``stream``, ``display_data``,
    ``update_display_data``, ``execute_result`` and ``error`` messages, each with an added
    ``"msg_type"`` key, so tests can inspect raw mime bundles.
    """

    msg_id: str
    status: str = "pending"  # "ok", "error" or "aborted" once the reply arrived
    execution_count: int | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0  # seconds from sending the request to the kernel going idle for it

    @property
    def stdout(self) -> str:
        """All text the cell wrote to stdout."""
        return "".join(o["text"] for o in self.outputs if o.get("name") == "stdout")

    @property
    def stderr(self) -> str:
        """All text the cell wrote to stderr."""
        return "".join(o["text"] for o in self.outputs if o.get("name") == "stderr")

    @property
    def error(self) -> dict[str, Any] | None:
        """The ``error`` content (``ename``, ``evalue``, ``traceback``) if the cell raised."""
        return next((o for o in self.outputs if o["msg_type"] == "error"), None)

    @property
    def result(self) -> str | None:
        """``text/plain`` of the cell's ``execute_result`` (its last expression), if any."""
        for o in self.outputs:
            if o["msg_type"] == "execute_result":
                text: str = o["data"].get("text/plain", "")
                return text
        return None

    def displays(self, mime: str | None = None) -> list[dict[str, Any]]:
        """Data bundles of ``display_data`` messages, optionally only those holding ``mime``."""
        bundles = [o["data"] for o in self.outputs if o["msg_type"] == "display_data"]
        return [b for b in bundles if mime is None or mime in b]

    def raise_for_error(self) -> ExecResult:
        """Raise ``KernelError`` with the traceback if the cell failed; return self otherwise."""
        err = self.error
        if self.status != "ok" or err is not None:
            tb = "\n".join(err["traceback"]) if err else f"status={self.status}"
            raise KernelError(f"cell {self.msg_id} failed:\n{_strip_ansi(tb)}")
        return self


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


class Kernel:
    """A real ipykernel process plus a blocking client, with per-request message routing.

    ``execute`` runs a cell and waits for it; ``submit`` sends one and returns at once, so a
    test can queue or overlap cells and ``collect`` each later. ``late_outputs`` returns what
    arrived for a cell after it finished (output of tasks it started). Use as a context manager
    or call ``start``/``shutdown``.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str | None] | None = None,
        cwd: str | Path | None = None,
        kernel_name: str = "python3",
        startup_timeout: float = 60.0,
    ) -> None:
        """Prepare (not start) a kernel; ``env`` entries override ``sanitized_env()``."""
        self.env = sanitized_env(env)
        self.cwd = str(cwd) if cwd is not None else os.getcwd()
        self.startup_timeout = startup_timeout
        self.manager = KernelManager(kernel_name=kernel_name)
        self._client: BlockingKernelClient | None = None
        self._iopub: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._idle: set[str] = set()
        self._replies: dict[str, dict[str, Any]] = {}
        self._sent: dict[str, float] = {}
        self._collected: dict[str, int] = {}
        self._idle_at: dict[str, float] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Kernel:
        """Launch the kernel and block until it answers a ``kernel_info`` request."""
        self.manager.start_kernel(env=self.env, cwd=self.cwd)
        client = self.manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError:
            client.stop_channels()
            self.manager.shutdown_kernel(now=True)
            raise
        self._client = client
        return self

    def shutdown(self) -> None:
        """Stop the channels and the kernel process (politely, then by force). Idempotent."""
        if self._client is not None:
            self._client.stop_channels()
            self._client = None
        if self.manager.has_kernel:
            self.manager.shutdown_kernel(now=False)

    def __enter__(self) -> Kernel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def client(self) -> BlockingKernelClient:
        """The connected ``BlockingKernelClient`` (for anything this class does not wrap)."""
        if self._client is None:
            raise RuntimeError("kernel not started")
        return self._client

    # -- executing ---------------------------------------------------------------------------
    def submit(self, code: str) -> str:
        """Send ``code`` for execution without waiting; returns the request's ``msg_id``."""
        msg_id: str = self.client.execute(code, store_history=True, allow_stdin=False)
        self._sent[msg_id] = time.monotonic()
        return msg_id

    def collect(self, msg_id: str, timeout: float = 60.0) -> ExecResult:
        """Wait until request ``msg_id`` has its reply and the kernel went idle for it."""
        deadline = time.monotonic() + timeout
        while not (msg_id in self._replies and msg_id in self._idle):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"cell {msg_id} did not finish within {timeout} s")
            self._pump(min(remaining, 0.1))
        reply = self._replies[msg_id]
        outputs = list(self._iopub[msg_id])
        self._collected[msg_id] = len(outputs)
        return ExecResult(
            msg_id=msg_id,
            status=reply["content"]["status"],
            execution_count=reply["content"].get("execution_count"),
            outputs=outputs,
            elapsed=self._idle_at[msg_id] - self._sent.get(msg_id, self._idle_at[msg_id]),
        )

    def execute(self, code: str, timeout: float = 60.0, *, check: bool = True) -> ExecResult:
        """Run ``code`` and wait; raise ``KernelError`` if it fails (unless ``check=False``)."""
        result = self.collect(self.submit(code), timeout=timeout)
        return result.raise_for_error() if check else result

    def late_outputs(self, msg_id: str, wait: float = 0.0) -> list[dict[str, Any]]:
        """Outputs routed to cell ``msg_id`` after ``collect`` returned (e.g. from its tasks).

        Reads iopub for up to ``wait`` seconds first. Each call returns only what is new since
        the previous ``collect``/``late_outputs`` for that cell.
        """
        deadline = time.monotonic() + wait
        while True:
            self._pump(0.05)
            if time.monotonic() >= deadline:
                break
        seen = self._collected.get(msg_id, 0)
        new = self._iopub[msg_id][seen:]
        self._collected[msg_id] = seen + len(new)
        return list(new)

    def value(self, expr: str, timeout: float = 30.0) -> Any:
        """Evaluate ``expr`` in the kernel and return it as a Python literal (via ``repr``)."""
        result = self.execute(f"print(repr({expr}))", timeout=timeout)
        return ast.literal_eval(result.stdout.strip())

    def wait_until(self, expr: str, timeout: float = 30.0, interval: float = 0.1) -> float:
        """Poll until ``expr`` is truthy in the kernel; returns the seconds it took."""
        start = time.monotonic()
        while not self.value(f"bool({expr})"):
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{expr!r} still false after {timeout} s")
            time.sleep(interval)
        return time.monotonic() - start

    def interrupt(self) -> None:
        """Send the kernel an interrupt, like the notebook's stop button."""
        self.manager.interrupt_kernel()

    # -- message plumbing --------------------------------------------------------------------
    def _pump(self, timeout: float) -> None:
        """Move every waiting shell and iopub message into the per-request buffers."""
        client = self.client
        got_any = False
        for channel, handle in (
            (client.shell_channel, self._on_shell),
            (client.iopub_channel, self._on_iopub),
        ):
            while True:
                try:
                    msg = channel.get_msg(timeout=0)
                except queue.Empty:
                    break
                handle(msg)
                got_any = True
        if not got_any and timeout > 0:
            with contextlib.suppress(queue.Empty):
                self._on_iopub(client.iopub_channel.get_msg(timeout=timeout))

    def _on_shell(self, msg: dict[str, Any]) -> None:
        parent = msg["parent_header"].get("msg_id")
        if parent:
            self._replies[parent] = msg

    def _on_iopub(self, msg: dict[str, Any]) -> None:
        parent = msg["parent_header"].get("msg_id")
        if not parent:
            return
        msg_type = msg["header"]["msg_type"]
        content = msg["content"]
        if msg_type == "status":
            if content["execution_state"] == "idle":
                self._idle.add(parent)
                self._idle_at.setdefault(parent, time.monotonic())
        elif msg_type in {
            "stream",
            "display_data",
            "update_display_data",
            "execute_result",
            "error",
        }:
            self._iopub[parent].append({"msg_type": msg_type, **content})
