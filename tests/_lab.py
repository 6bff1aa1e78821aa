"""Drive JupyterLab in Debian's Chromium through Playwright's sync API, for browser tests.

Pieces (the fixtures in ``conftest.py`` wire them up; use them directly for special cases):

* ``LabServer`` — a ``jupyter lab`` subprocess on 127.0.0.1 with no token, ``window.jupyterapp``
  exposed, its own settings/workspaces/runtime/IPython dirs (news toast and autosave off), and
  an environment from ``sanitized_env`` (no ``OMNI_*`` or API keys unless a test passes them).
  Kernels started from Lab inherit that environment.
* ``launch_chromium`` — Debian's ``/usr/bin/chromium`` with the flags from FIELD-NOTES
  (Playwright's own browsers cannot be downloaded here and lack H.264/AAC anyway).
* ``LabPage`` — one browser tab on a server: open a notebook, wait for its kernel, run all
  cells, find elements, read ``<video>`` state, save screenshots to ``test-artifacts/``.
* ``write_notebook`` — write a throwaway ``.ipynb`` from code strings.

Playwright's sync API runs its own asyncio loop on the main thread; while it is alive,
``asyncio.run()`` in the same thread fails ("cannot be called from a running event loop").
That is why the ``chromium`` fixture is module-scoped: keep browser tests in their own modules.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _kernel import sanitized_env
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_PATH = "/usr/bin/chromium"
#: Flags for headless Debian Chromium as root in a container, with no background network noise.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)
#: Overrides written into the server's private user-settings dir, keyed by plugin id.
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    # The "get notified about official Jupyter news?" toast covers screenshots.
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    # Never write test runs' outputs back into notebooks behind the test's back.
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
}
#: Front ends ``LabServer.start(app=...)`` can run: module to run, its config class, and the URL
#: prefix under which it opens a notebook. Notebook 7 is built on Lab (same plugins, settings
#: and ``window.jupyterapp`` command ids), so ``LabPage`` drives both.
APPS: dict[str, tuple[str, str, str]] = {
    "lab": ("jupyterlab", "LabApp", "/lab/tree/"),
    "notebook": ("notebook", "JupyterNotebookApp", "/notebooks/"),
}


def artifacts_dir() -> Path:
    """Where screenshots go: ``$OMNI_TEST_ARTIFACTS`` or ``<repo>/test-artifacts`` (created)."""
    path = Path(os.environ.get("OMNI_TEST_ARTIFACTS") or REPO_ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    """Write a notebook of code ``cells`` with a ``python3`` kernelspec (so Lab asks nothing)."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "outputs": [],
                "source": source.strip("\n"),
            }
            for source in cells
        ],
        "metadata": {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1) + "\n")
    return path


class LabServer:
    """A running ``jupyter lab`` for tests; create with ``LabServer.start(...)``, end with ``stop``.

    ``root_dir`` is what Lab serves (``notebook_url`` paths are relative to it); ``env`` is the
    environment the server and its kernels got; ``log_path`` holds the server's output.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        port: int,
        root_dir: Path,
        state_dir: Path,
        env: dict[str, str],
        app: str = "lab",
    ) -> None:
        self.process = process
        self.port = port
        self.root_dir = root_dir
        self.state_dir = state_dir
        self.env = env
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = state_dir / "server.log"

    @classmethod
    def start(
        cls,
        root_dir: Path,
        state_dir: Path,
        *,
        env: Mapping[str, str | None] | None = None,
        timeout: float = 60.0,
        extra_args: Sequence[str] = (),
        app: str = "lab",
    ) -> LabServer:
        """Start Lab serving ``root_dir`` and wait until it answers.

        ``state_dir`` receives settings, workspaces, runtime files, IPython dir and the log.
        ``env`` overrides ``sanitized_env()`` (``None`` unsets a variable).
        ``app="notebook"`` runs Notebook 7 instead of Lab, with the same isolation.
        """
        module, app_class, _prefix = APPS[app]
        state_dir.mkdir(parents=True, exist_ok=True)
        settings_dir = state_dir / "settings"
        for plugin, values in LAB_SETTINGS.items():
            package, _, name = plugin.partition(":")
            target = settings_dir / package / f"{name}.jupyterlab-settings"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values, indent=2))
        full_env = sanitized_env(env)
        full_env.setdefault("JUPYTER_RUNTIME_DIR", str(state_dir / "runtime"))
        full_env.setdefault("IPYTHONDIR", str(state_dir / "ipython"))
        last_error = ""
        for _attempt in range(3):  # the free port can be taken between probe and bind
            port = free_port()
            cmd = [
                sys.executable,
                "-m",
                module,
                "--no-browser",
                "--allow-root",
                "--IdentityProvider.token=",
                "--ServerApp.password=",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                "--ServerApp.disable_check_xsrf=True",
                f"--ServerApp.root_dir={root_dir}",
                f"--{app_class}.expose_app_in_browser=True",
                f"--{app_class}.user_settings_dir={settings_dir}",
                f"--{app_class}.workspaces_dir={state_dir / 'workspaces'}",
                *extra_args,
            ]
            log = (state_dir / "server.log").open("ab")
            process = subprocess.Popen(
                cmd,
                cwd=root_dir,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
            server = cls(process, port, root_dir, state_dir, full_env, app)
            atexit.register(server.stop)
            try:
                server._wait_ready(timeout)
                return server
            except RuntimeError as exc:
                last_error = str(exc)
                server.stop()
                if "already in use" not in last_error:
                    break
        raise RuntimeError(last_error)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        """Shut the server down (SIGTERM lets it stop its kernels; SIGKILL if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def notebook_url(self, path: str) -> str:
        """URL that opens ``path`` (relative to ``root_dir``) in Lab (or Notebook 7's page)."""
        return f"{self.url}{APPS[self.app][2]}{quote(path)}"

    def copy_in(self, source: Path, dest: str | None = None) -> str:
        """Copy a file or folder into ``root_dir`` (so Lab never touches the original).

        Returns its path relative to ``root_dir``, ready for ``LabPage.open_notebook``.
        """
        rel = dest or source.name
        target = self.root_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
        return rel


def launch_chromium(playwright: Playwright, *, headless: bool = True, **kwargs: Any) -> Browser:
    """Launch Debian's Chromium; Playwright gives each launch a fresh temporary profile."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, args=list(CHROMIUM_ARGS), headless=headless, **kwargs
    )


@dataclass
class VideoState:
    """A snapshot of an HTMLVideoElement's playback properties, read in the page."""

    ready_state: int  # >= 2 (HAVE_CURRENT_DATA) means a frame is decoded and showing
    network_state: int
    duration: float  # seconds; NaN until metadata is known
    current_time: float
    paused: bool
    ended: bool
    muted: bool
    error: str | None  # MediaError code and message, if the element failed
    video_width: int
    video_height: int
    src: str
    can_play_h264_aac: str  # canPlayType for avc1 + mp4a: "probably" on Debian Chromium
    decoded_video_bytes: int
    decoded_audio_bytes: int


_JS_VIDEO_STATE = """(el) => ({
  ready_state: el.readyState, network_state: el.networkState,
  duration: Number.isFinite(el.duration) ? el.duration : -1, current_time: el.currentTime,
  paused: el.paused, ended: el.ended, muted: el.muted,
  error: el.error ? `${el.error.code}: ${el.error.message}` : null,
  video_width: el.videoWidth, video_height: el.videoHeight, src: el.currentSrc || '',
  can_play_h264_aac: el.canPlayType('video/mp4; codecs="avc1.42E01E, mp4a.40.2"'),
  decoded_video_bytes: el.webkitVideoDecodedByteCount || 0,
  decoded_audio_bytes: el.webkitAudioDecodedByteCount || 0,
})"""

# Finds the notebook panel for a path among Lab's main-area widgets.
_JS_PANEL = """
const panelFor = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.content.widgets) return w;
  }
  return null;
};
"""


class LabPage:
    """One Chromium tab showing a ``LabServer``; wraps the Playwright ``page`` with Lab helpers.

    Browser console errors and uncaught page errors are collected in ``console_errors`` to
    help explain failures. Timeouts are in seconds.
    """

    def __init__(self, page: Page, server: LabServer) -> None:
        self.page = page
        self.server = server
        self.path: str | None = None
        self.console_errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))

    @classmethod
    @contextmanager
    def new(
        cls, browser: Browser, server: LabServer, *, width: int = 1280, height: int = 800
    ) -> Iterator[LabPage]:
        """A ``LabPage`` in a fresh browser context (own cookies/storage), closed on exit."""
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            yield cls(context.new_page(), server)
        finally:
            context.close()

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.console_errors.append(msg.text)

    # -- notebooks ---------------------------------------------------------------------------
    def open_notebook(self, path: str, timeout: float = 60.0) -> None:
        """Open ``path`` (relative to the server root) and wait until its kernel is idle."""
        self.path = path
        self.page.goto(self.server.notebook_url(path), timeout=timeout * 1000)
        self.page.wait_for_function(
            f"(path) => {{ {_JS_PANEL} return panelFor(path) !== null; }}",
            arg=path,
            timeout=timeout * 1000,
        )
        self.page.locator(".jp-NotebookPanel:visible").first.wait_for(timeout=timeout * 1000)
        self.wait_for_kernel_idle(timeout)

    def kernel_status(self) -> str | None:
        """The open notebook's kernel status (``idle``, ``busy``, ``starting``...) or None."""
        status: str | None = self.page.evaluate(
            f"""(path) => {{ {_JS_PANEL}
              const p = panelFor(path);
              const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
              return k ? k.status : null; }}""",
            self._require_path(),
        )
        return status

    def wait_for_kernel_idle(self, timeout: float = 60.0) -> None:
        """Wait until the open notebook has a kernel and it reports ``idle``."""
        self.page.wait_for_function(
            f"""(path) => {{ {_JS_PANEL}
              const p = panelFor(path);
              const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
              return !!k && k.status === 'idle'; }}""",
            arg=self._require_path(),
            timeout=timeout * 1000,
            polling=100,
        )

    def run_all_cells(self, timeout: float = 120.0, *, check: bool = True) -> None:
        """Run every cell with Lab's ``notebook:run-all-cells`` and wait until all finished.

        With ``check`` (default), raise ``AssertionError`` listing any error outputs.
        """
        path = self._require_path()
        self.page.evaluate(
            f"""(path) => {{ {_JS_PANEL}
              const app = window.jupyterapp;
              app.shell.activateById(panelFor(path).id);
              window.__omniRunAll = null;
              app.commands.execute('notebook:run-all-cells').then(
                (ok) => {{ window.__omniRunAll = {{ ok }}; }},
                (err) => {{ window.__omniRunAll = {{ ok: false, error: String(err) }}; }});
            }}""",
            path,
        )
        self.page.wait_for_function(
            "() => window.__omniRunAll !== null", timeout=timeout * 1000, polling=100
        )
        self.wait_for_kernel_idle(timeout)
        if check:
            errors = self.cell_errors()
            if errors:
                raise AssertionError("cells raised:\n" + "\n\n".join(errors))

    def cell_errors(self) -> list[str]:
        """Error outputs of the open notebook's cells, as ``ename: evalue`` + traceback text."""
        errors: list[str] = self.page.evaluate(
            f"""(path) => {{ {_JS_PANEL}
              const out = [];
              for (const cell of panelFor(path).content.widgets) {{
                const outputs = cell.model.outputs ? cell.model.outputs.toJSON() : [];
                for (const o of outputs) {{
                  if (o.output_type === 'error') {{
                    out.push(`${{o.ename}}: ${{o.evalue}}\\n${{(o.traceback || []).join('\\n')}}`);
                  }}
                }}
              }}
              return out; }}""",
            self._require_path(),
        )
        return [re.sub(r"\x1b\[[0-9;]*m", "", e) for e in errors]

    # -- elements ----------------------------------------------------------------------------
    def find(self, selector: str, timeout: float = 30.0) -> Locator:
        """The first element matching ``selector``, after waiting for it to be visible."""
        locator = self.page.locator(selector).first
        locator.wait_for(state="visible", timeout=timeout * 1000)
        return locator

    def video_state(self, selector: str = "video") -> VideoState:
        """Read playback state of the first ``<video>`` matching ``selector``."""
        data: dict[str, Any] = self.page.locator(selector).first.evaluate(_JS_VIDEO_STATE)
        return VideoState(**data)

    def wait_for_video_ready(self, selector: str = "video", timeout: float = 30.0) -> VideoState:
        """Wait until the first video matching ``selector`` has a decoded frame
        (``readyState >= 2``) or fails, and return its state (as it is at the timeout if never).

        The first match is looked up afresh each time: while a notebook runs, Lab may re-render
        an output out of view and a card may finish above, so the element first found is not
        always the one a later read would see.
        """
        deadline = time.monotonic() + timeout
        self.find(selector, timeout)
        while True:
            state = self.video_state(selector)
            if state.ready_state >= 2 or state.error is not None or time.monotonic() > deadline:
                return state
            self.page.wait_for_timeout(100)

    def play_video(self, selector: str = "video", *, muted: bool = True) -> str | None:
        """Call ``play()`` in the page; returns None, or the rejection's text.

        ``muted`` because Chromium allows autoplay without a user gesture only when muted.
        """
        result: str | None = self.page.locator(selector).first.evaluate(
            """async (el, muted) => {
                el.muted = muted;
                try { await el.play(); return null; } catch (e) { return String(e); }
            }""",
            muted,
        )
        return result

    def watch_playback(
        self, selector: str = "video", *, seconds: float = 0.8
    ) -> tuple[str | None, VideoState, VideoState]:
        """Press play (muted) if the video is paused, then read its state ``seconds`` apart.

        Returns ``(play() rejection or None, before, after)``; the test decides what counts as
        playing (e.g. ``(after.current_time - before.current_time) % after.duration`` for a
        looping video).
        """
        refused = (
            self.play_video(selector, muted=True) if self.video_state(selector).paused else None
        )
        before = self.video_state(selector)
        self.page.wait_for_timeout(seconds * 1000)
        return refused, before, self.video_state(selector)

    def screenshot(
        self, name: str, *, scroll_to: str | None = None, full_page: bool = True
    ) -> Path:
        """Save a PNG of the tab to ``artifacts_dir()/<name>.png`` and return its path.

        Lab scrolls the notebook inside its own panel, so ``full_page`` does not reveal lower
        cells: pass ``scroll_to`` (a selector) to bring the element you care about into view.
        """
        if scroll_to is not None:
            self.page.locator(scroll_to).first.scroll_into_view_if_needed()
        path = artifacts_dir() / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def _require_path(self) -> str:
        if self.path is None:
            raise RuntimeError("open_notebook() first")
        return self.path
