"""One local sandbox process shared by the user's kernels, so its tasks outlive any kernel.

It is found through a discovery file (`sandbox.json`: URL, port, pid and key; readable by its owner
only) in the sandbox home, `$OMNI_SANDBOX_HOME` or else `~/.cache/omni-widgets`. When none answers,
one is started as a detached process (its own session, so a kernel's death does not end it), under
a file lock so that two kernels starting at once share one. It keeps its task records in the home's
`state/` folder and exits by itself after `DEFAULT_IDLE_EXIT` seconds without requests.

A process speaks one gateway's dialect (both create on the same path), so each gateway has its own
shared process and files, keyed by its name: EvoLink's keep the names above, ToAPIs' are
`sandbox-toapis.json`, `state-toapis/` and so on; the discovery file also names its gateway.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ._dialect import DEFAULT_GATEWAY, GATEWAYS

HOME_ENV = "OMNI_SANDBOX_HOME"
DISCOVERY_FILE = "sandbox.json"
DEFAULT_IDLE_EXIT = 2 * 3600.0
"""Seconds without any request after which the shared sandbox process exits (2 h)."""
START_TIMEOUT = 60.0

_children: dict[int, subprocess.Popen[bytes]] = {}  # processes started here, reaped when they end


def sandbox_home() -> Path:
    """Where the shared sandbox keeps its discovery file, lock, log and state."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "omni-widgets"


def _named(name: str, gateway: str) -> str:
    """A shared-sandbox file or folder name for `gateway` (EvoLink's keep their first names)."""
    if gateway not in GATEWAYS:
        raise ValueError(f"gateway must be one of {', '.join(GATEWAYS)}, got {gateway!r}")
    if gateway == DEFAULT_GATEWAY:
        return name
    stem, dot, suffix = name.partition(".")
    return f"{stem}-{gateway}{dot}{suffix}"


def discovery_file(home: Path, gateway: str = DEFAULT_GATEWAY) -> Path:
    """Where the shared sandbox speaking `gateway` publishes itself in `home`."""
    return home / _named(DISCOVERY_FILE, gateway)


@dataclass(frozen=True)
class Discovery:
    """What a running shared sandbox publishes about itself."""

    url: str
    pid: int
    key: str = field(repr=False)
    gateway: str = DEFAULT_GATEWAY

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.url.rsplit(":", 1)[1])


def write_discovery(path: Path, found: Discovery) -> None:
    """Publish `found` atomically in a file only its owner can read (it holds the key)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        data = {"url": found.url, "port": found.port, "pid": found.pid, "key": found.key}
        if found.gateway != DEFAULT_GATEWAY:  # EvoLink's file stays as it was before ToAPIs
            data["gateway"] = found.gateway
        json.dump(data, handle)
    os.replace(temp, path)


def read_discovery(path: Path) -> Discovery | None:
    """The published sandbox, or None when the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
        gateway = str(data.get("gateway", DEFAULT_GATEWAY))
        return Discovery(str(data["url"]), int(data["pid"]), str(data["key"]), gateway)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_discovery(path: Path, pid: int) -> None:
    """Remove the discovery file if it still names process `pid`."""
    found = read_discovery(path)
    if found is not None and found.pid == pid:
        path.unlink(missing_ok=True)


class SharedSandbox:
    """A handle on the shared sandbox process: where it is, its key, and its settings over HTTP.

    `speed`, `ttl` and `record_ttl` read and set the process's `/_sandbox/config`;
    `created_task_ids` and `requests` read its `/_sandbox/log`. Settings apply to every kernel
    that uses it.
    """

    def __init__(self, found: Discovery, discovery_file: Path) -> None:
        self.base_url = found.url
        self.pid = found.pid
        self.gateway = found.gateway
        """The gateway whose dialect the process speaks."""
        self._key = found.key
        self._discovery_file = discovery_file
        self.home = discovery_file.parent
        """The sandbox home it was found in."""

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def api_key(self) -> str:
        """The key the process accepts (kept in its state folder, readable by the user only)."""
        return self._key

    def _call(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        with httpx.Client(trust_env=False, timeout=timeout) as client:
            response = client.request(
                method,
                f"{self.base_url}{path}",
                json=body,
                headers={"Authorization": f"Bearer {self._key}"},
            )
        response.raise_for_status()
        return response.json()

    def alive(self) -> bool:
        """Whether the process answers."""
        try:
            self._call("GET", "/_sandbox/config", timeout=3.0)
        except (httpx.HTTPError, ValueError):
            return False
        return True

    def _setting(self, name: str) -> float:
        return float(self._call("GET", "/_sandbox/config")[name])

    def _set(self, name: str, value: float) -> None:
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
        number = float(value)
        # JSON has no infinity; the endpoint reads the string "inf" as one.
        self._call("POST", "/_sandbox/config", {name: number if math.isfinite(number) else "inf"})

    @property
    def speed(self) -> float:
        """Vendor seconds per real second for tasks created from now on."""
        return self._setting("speed")

    @speed.setter
    def speed(self, value: float) -> None:
        self._set("speed", value)

    @property
    def ttl(self) -> float:
        """Seconds result URLs stay valid after completion."""
        return self._setting("ttl")

    @ttl.setter
    def ttl(self, value: float) -> None:
        self._set("ttl", value)

    @property
    def record_ttl(self) -> float:
        """Seconds task records are kept after creation."""
        return self._setting("record_ttl")

    @record_ttl.setter
    def record_ttl(self, value: float) -> None:
        self._set("record_ttl", value)

    @property
    def created_task_ids(self) -> list[str]:
        """Ids of the tasks this process created, in order."""
        return list(self._call("GET", "/_sandbox/log")["created_task_ids"])

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of the API and file requests this process answered."""
        log = self._call("GET", "/_sandbox/log")["requests"]
        return [(r["method"], r["path"], r["status"]) for r in log]

    def reset_log(self) -> None:
        """Forget the process's logged requests and created ids (tasks stay queryable)."""
        self._call("DELETE", "/_sandbox/log")

    def stop(self, timeout: float = 15.0) -> None:
        """End the process (SIGTERM, then SIGKILL after `timeout`) and remove its discovery file."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while not _gone(self.pid):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
                break
            time.sleep(0.05)
        _gone(self.pid)
        remove_discovery(self._discovery_file, self.pid)

    def __repr__(self) -> str:
        gateway = "" if self.gateway == DEFAULT_GATEWAY else f" gateway={self.gateway}"
        return f"<SharedSandbox {self.base_url}{gateway} pid={self.pid}>"


def find_shared(
    home: Path | None = None, *, gateway: str = DEFAULT_GATEWAY
) -> SharedSandbox | None:
    """The running shared sandbox speaking `gateway`, if its discovery file names one that
    answers."""
    path = discovery_file(home or sandbox_home(), gateway)
    found = read_discovery(path)
    if found is None or found.gateway != gateway:
        return None
    handle = SharedSandbox(found, path)
    return handle if handle.alive() else None


def start_shared(
    home: Path | None = None,
    *,
    gateway: str = DEFAULT_GATEWAY,
    idle_exit: float = DEFAULT_IDLE_EXIT,
    timeout: float = START_TIMEOUT,
) -> SharedSandbox:
    """The running shared sandbox speaking `gateway`, started (detached) first when none
    answers."""
    home = home or sandbox_home()
    running = find_shared(home, gateway=gateway)
    if running is not None:
        return running
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = home / _named("sandbox.lock", gateway)
    with _locked(lock, timeout + 10):  # longer than another's start
        # Another kernel may have started it while we waited.
        running = find_shared(home, gateway=gateway)
        if running is not None:
            return running
        return _spawn(home, gateway, idle_exit, timeout)


def stop_shared(home: Path | None = None, *, gateway: str | None = None) -> bool:
    """Stop the shared sandbox process speaking `gateway` (None: every gateway's) if one runs;
    True if one did."""
    stopped = False
    for name in GATEWAYS if gateway is None else (gateway,):
        running = find_shared(home, gateway=name)
        if running is not None:
            running.stop()
            stopped = True
    return stopped


def _spawn(home: Path, gateway: str, idle_exit: float, timeout: float) -> SharedSandbox:
    """Start the process, on its previous port if free (so old result URLs still work)."""
    discovery_file(home, gateway).unlink(missing_ok=True)  # stale: its process does not answer
    remembered = home / _named("last_port", gateway)
    with contextlib.suppress(OSError, ValueError):
        handle = _launch(home, gateway, idle_exit, timeout, int(remembered.read_text()))
        if handle is not None:
            return handle
    handle = _launch(home, gateway, idle_exit, timeout, 0)
    assert handle is not None, "port 0 is always free"
    remembered.write_text(str(handle.port))
    return handle


def _launch(
    home: Path, gateway: str, idle_exit: float, timeout: float, port: int
) -> SharedSandbox | None:
    """Start the process on `port`; None if that port is taken."""
    discovery = discovery_file(home, gateway)
    log = home / _named("sandbox.log", gateway)
    command = [
        sys.executable,
        "-m",
        "omni_widgets.sandbox",
        "--gateway",
        gateway,
        "--port",
        str(port),
        "--state-dir",
        str(home / _named("state", gateway)),
        "--discovery-file",
        str(discovery),
        "--idle-exit",
        str(idle_exit),
    ]
    # The child runs this very copy of the package, wherever the caller imported it from.
    package_root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if "API_KEY" not in k}  # it needs no real key
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        detach: dict[str, Any] = (
            {"creationflags": getattr(subprocess, "DETACHED_PROCESS", 0)}
            if sys.platform == "win32"
            else {"start_new_session": True}
        )
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            close_fds=True,
            cwd=home,
            env=env,
            **detach,
        )
    finally:
        os.close(log_fd)
    _children[process.pid] = process
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = read_discovery(discovery)
        if found is not None and found.pid == process.pid:
            handle = SharedSandbox(found, discovery)
            if handle.alive():
                return handle
        if process.poll() is not None:
            if port and process.returncode == 1:  # cannot listen there
                del _children[process.pid]
                return None
            raise RuntimeError(
                f"the shared sandbox exited at start (code {process.returncode}); see {log}"
            )
        time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"the shared sandbox did not start in {timeout:g} s; see {log}")


def _gone(pid: int) -> bool:
    """Whether process `pid` has ended (reaping it if it is our child)."""
    child = _children.get(pid)
    if child is not None:
        if child.poll() is None:
            return False
        del _children[pid]
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on `path` (across processes) for the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, timeout, path)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _acquire(fd: int, timeout: float, path: Path) -> None:
    deadline = time.monotonic() + timeout
    while not _try_lock(fd):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} stayed locked for {timeout:g} s")
        time.sleep(0.05)


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
