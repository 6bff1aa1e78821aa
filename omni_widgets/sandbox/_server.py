"""`Sandbox`: the emulator served by uvicorn on its own thread and event loop.

Its own loop is what lets it run inside a Jupyter kernel, whose main thread already runs one. It
binds a free port on 127.0.0.1 by default (and warns when told to listen anywhere else), and
removes its rendered files when stopped. Given a state folder, it keeps its task records (and its
key) there, so a new process knows old tasks.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ._callbacks import VENDOR_RETRY_DELAYS
from ._dialect import DEFAULT_GATEWAY, dialect
from ._faults import Fault, Faults
from ._guard import MAX_BODY, Guard
from ._log import CallbackAttempt, Recorder, RequestRecord
from ._render import DEFAULT_RESOLUTION, RESOLUTIONS
from ._state import DEFAULT_SPEED, DEFAULT_TTL, SandboxState
from ._tasks import DEFAULT_RECORD_TTL, TaskStore

if TYPE_CHECKING:
    import uvicorn

_log = logging.getLogger("omni_widgets.sandbox")


class Sandbox:
    """A local EvoLink- or ToAPIs-compatible video API that renders real MP4s and misbehaves on
    demand.

    Use as `with Sandbox(speed=...) as sb:` or `sb = Sandbox().start()` ... `sb.stop()`; point a
    client at `sb.base_url` with `sb.api_key`.

    gateway: whose wire format to speak, "evolink" (default) or "toapis" (its paths, bodies,
        statuses, ids and errors; no callbacks). One per sandbox: both create on the same path.
    speed: vendor seconds per real second (default 40: a 10 s clip, estimated at 120 s, is done in
        about 3 s); `float("inf")` completes every task by its first query.
    ttl: seconds a result URL stays valid after the task completes (default 24 h).
    seed: makes task ids, timings and random faults reproducible.
    host, port: where to listen (default 127.0.0.1 and a free port); any other address than a
        loopback one is logged as a warning, since the service then answers other machines.
    api_key: the sandbox's own key (default: a fresh random one, or the one kept in `state_dir`);
        only it may use `/_sandbox/`.
    any_key: accept any non-empty key on the API (default), not only `api_key` (and the special
        `sk-sandbox-40x` keys).
    allowed_hosts: more names the Host header may carry (loopback names and `host` always work),
        e.g. the machine's name when serving other machines.
    max_body: largest request body in bytes (default 100 MiB); bigger ones get a 413.
    faults: initial fault rules (see `Faults`); change them any time through `sb.faults`.
    allow_loopback_callbacks: accept http(s) callback URLs on 127.0.0.1 / localhost (for tests).
    callback_retry_delays: pauses before the callback retries (the vendor's 1, 2, 4 s by default).
    state_dir: a folder for task records (SQLite) and the key, so a restarted sandbox still
        answers for earlier tasks and serves their videos; None keeps everything in memory.
    record_ttl: seconds a task record is kept after creation (default 7 days); then queries
        answer 404 `task_not_found`, as the service does.
    resolution: size of the rendered clips: "360p" (default, 640x360: quick to render) or the
        services' real "720p" (1280x720) and "1080p" (1920x1080); portrait clips swap the sides.
    """

    def __init__(
        self,
        *,
        gateway: str = DEFAULT_GATEWAY,
        speed: float = DEFAULT_SPEED,
        ttl: float = DEFAULT_TTL,
        seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Iterable[Fault] = (),
        allow_loopback_callbacks: bool = False,
        callback_retry_delays: Sequence[float] = VENDOR_RETRY_DELAYS,
        api_key: str | None = None,
        any_key: bool = True,
        allowed_hosts: Iterable[str] = (),
        max_body: int = MAX_BODY,
        state_dir: str | os.PathLike[str] | None = None,
        record_ttl: float = DEFAULT_RECORD_TTL,
        resolution: str = DEFAULT_RESOLUTION,
    ) -> None:
        speaks = dialect(gateway)
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        if not ttl > 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        if api_key is not None and not api_key.strip():
            raise ValueError("api_key must not be empty")
        if not max_body > 0:
            raise ValueError(f"max_body must be positive, got {max_body!r}")
        if not record_ttl > 0:
            raise ValueError(f"record_ttl must be positive, got {record_ttl!r}")
        if resolution not in RESOLUTIONS:
            raise ValueError(
                f"resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}"
            )
        self.host = host
        self.port = port
        self.allowed_hosts = tuple(allowed_hosts)
        self.state_dir = Path(state_dir).expanduser() if state_dir is not None else None
        if api_key is None and self.state_dir is not None:
            api_key = stored_key(self.state_dir)
        self._guard = Guard(
            api_key or f"sk-sandbox-{secrets.token_urlsafe(24)}", any_key=any_key, max_body=max_body
        )
        self._state = SandboxState(
            dialect=speaks,
            speed=float(speed),
            ttl=float(ttl),
            allow_loopback_callbacks=allow_loopback_callbacks,
            callback_retry_delays=tuple(callback_retry_delays),
            seed=seed,
            faults=Faults(faults, seed=seed),
            recorder=Recorder(),
            tasks=TaskStore(
                seed, float(record_ttl), new_id=speaks.new_id, records_file=speaks.records_file
            ),
            resolution=resolution,
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._cleanup: weakref.finalize[Any, Any] | None = None

    @property
    def gateway(self) -> str:
        """The gateway whose wire format this sandbox speaks ("evolink" or "toapis")."""
        return self._state.dialect.name

    @property
    def api_key(self) -> str:
        """The sandbox's own key: always accepted; the only one the `/_sandbox/` endpoints take."""
        return self._guard.api_key

    @property
    def any_key(self) -> bool:
        """Whether the API accepts any non-empty key, not only `api_key`."""
        return self._guard.any_key

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._url()

    def _url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def faults(self) -> Faults:
        """The live fault rules: `sb.faults.rate_limit(count=2, on="create")`, `.clear()`..."""
        return self._state.faults

    @property
    def speed(self) -> float:
        """Vendor seconds per real second for tasks created from now on."""
        return self._state.speed

    @speed.setter
    def speed(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"speed must be positive, got {value!r}")
        self._state.speed = float(value)

    @property
    def ttl(self) -> float:
        """Seconds result URLs stay valid after completion."""
        return self._state.ttl

    @ttl.setter
    def ttl(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"ttl must be positive, got {value!r}")
        self._state.ttl = float(value)

    @property
    def record_ttl(self) -> float:
        """Seconds task records are kept after creation."""
        return self._state.record_ttl

    @record_ttl.setter
    def record_ttl(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"record_ttl must be positive, got {value!r}")
        self._state.record_ttl = float(value)

    @property
    def idle_seconds(self) -> float:
        """Seconds since the latest request of any kind (or since the sandbox was made)."""
        return time.monotonic() - self._state.last_request

    @property
    def requests(self) -> list[RequestRecord]:
        """(method, path, status) of every API and file request; status 0 = dropped unanswered."""
        return self._state.recorder.requests

    @property
    def created_task_ids(self) -> list[str]:
        """Ids of the tasks really created, in order."""
        return self._state.recorder.created_task_ids

    @property
    def callback_attempts(self) -> list[CallbackAttempt]:
        """Every callback POST attempted, with its outcome and body."""
        return self._state.recorder.callbacks

    def reset_log(self) -> None:
        """Forget logged requests, created ids and callback attempts (tasks stay queryable)."""
        self._state.recorder.clear()

    def start(self, timeout: float = 15.0) -> Self:
        """Serve on a background thread; return once the server accepts connections."""
        if self.running:
            return self
        import uvicorn

        from ._app import build_app

        files = Path(tempfile.mkdtemp(prefix="omni-sandbox-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, files, ignore_errors=True)
        self._state.files_dir = files
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP, or asyncio skips TCP_NODELAY on accepted sockets (40 ms delayed-ACK stalls).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            self._cleanup()
            raise
        self.port = sock.getsockname()[1]
        self._guard.serve_at(self.host, self.port, self.allowed_hosts)
        if not _is_loopback(sock.getsockname()[0]):
            _log.warning(
                "the omni-widgets sandbox listens on %s, not a loopback address: other machines "
                "can reach it; its API accepts %s",
                self.host,
                "any non-empty key" if self.any_key else "only its own key",
            )
        if self.state_dir is not None:
            try:
                self._state.tasks.attach(self.state_dir, self._url())
            except Exception:
                sock.close()
                self._cleanup()
                raise
        config = uvicorn.Config(
            build_app(self._state, self._guard),
            log_config=None,  # leave the host's (e.g. a notebook's) logging alone
            log_level="warning",
            access_log=False,
            lifespan="on",
            loop="asyncio",
            http="h11",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="omni-sandbox", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the sandbox server failed to start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down, join its thread and delete the rendered files."""
        server, thread, sock = self._server, self._thread, self._socket
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        if self._cleanup is not None:
            self._cleanup()
        self._server = self._thread = self._socket = None
        self._state.files_dir = None
        self._state.tasks.detach()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "stopped"
        gateway = "" if self.gateway == DEFAULT_GATEWAY else f" gateway={self.gateway}"
        return f"<Sandbox {where}{gateway} speed={self.speed:g} faults={len(self.faults.rules)}>"


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.partition("%")[0]).is_loopback
    except ValueError:
        return False


def stored_key(state_dir: Path) -> str:
    """The state folder's key (made on first use, readable by its owner only), so a sandbox
    restarted on the same folder accepts the same key and knows whose tasks are whose."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / "key"
    with contextlib.suppress(FileNotFoundError):
        key = path.read_text().strip()
        if key:
            return key
    key = f"sk-sandbox-{secrets.token_urlsafe(24)}"
    temp = state_dir / f".key.{os.getpid()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    try:
        os.link(temp, path)  # fails if another process made the key meanwhile: use theirs
    except FileExistsError:
        return path.read_text().strip()
    finally:
        temp.unlink()
    return key
