"""Each clip the in-process sandboxes render is rendered once per cache, not once per test.

Rendering a clip (H.264 + AAC, ``sandbox._render.render_mp4``) costs about half a second of CPU,
and the quick loop asked for 156 clips, 66 of them the same prompt, size, length and images as an
earlier one: rendering took more than half of the loop's time. ``conftest.py`` puts
:meth:`RenderCache.render` in the sandbox's place (``sandbox._files.render_mp4``), so a clip
already in the cache is copied instead (through a ``.part`` file, as the renderer writes).

A clip's key hashes every field of its ``VideoSpec`` and the renderer itself (the source of
``_render.py`` and PyAV's version), so a change to either renders afresh. The full run
(``./dev test``, CI) uses a cache of its own, shared by its workers and removed at its end: every
distinct clip is rendered for real in every full run. The quick loop keeps its cache across runs
in pytest's cache directory. Sandboxes in other processes (the shared sandbox, the CLI) and tests
that call the renderer directly always render.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import av
import numpy  # noqa: F401  # see below

from omni_widgets.sandbox import _render
from omni_widgets.sandbox._render import RenderCancelled, VideoSpec, render_mp4

# numpy is imported here, before any test runs: the renderer imports it on first use, on a
# sandbox's render thread, and a test calling pytest.approx meanwhile finds the half-imported
# module in sys.modules ("partially initialized module 'numpy' has no attribute 'isscalar'").

#: The full run's cache folder, made by the first process (the xdist controller, or pytest without
#: xdist) and inherited by the workers it starts.
SESSION_VARIABLE = "OMNI_TEST_RENDER_CACHE"


def session_directory() -> tuple[Path, bool]:
    """The full run's cache folder, and whether this process made it (and so removes it)."""
    inherited = os.environ.get(SESSION_VARIABLE)
    if inherited:
        return Path(inherited), False
    made = tempfile.mkdtemp(prefix="omni-test-renders-")
    os.environ[SESSION_VARIABLE] = made
    return Path(made), True


def lasting_directory(root: Path) -> Path:
    """The quick loop's cache folder under ``root``, one per renderer; folders of other renderers
    (an earlier ``_render.py``) are removed."""
    current = root / renderer_identity().hex()[:16]
    if root.is_dir():
        for old in root.iterdir():
            if old != current and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    current.mkdir(parents=True, exist_ok=True)
    return current


def renderer_identity() -> bytes:
    """What decides a clip's bytes besides its spec: the renderer's code and PyAV's version."""
    source = Path(_render.__file__).read_bytes()
    return hashlib.sha256(source + av.__version__.encode()).digest()


def spec_key(spec: VideoSpec, identity: bytes) -> str:
    """A hex digest of every field of ``spec`` (images included) and the renderer ``identity``."""
    digest = hashlib.sha256(identity)
    for field in dataclasses.fields(spec):
        value = getattr(spec, field.name)
        parts = value if isinstance(value, tuple) else (value,)
        digest.update(f"{field.name}:{len(parts)}".encode())
        for part in parts:
            data = part if isinstance(part, bytes) else repr(part).encode()
            digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


class RenderCache:
    """Rendered clips in ``directory``, by key (see the module docstring); safe across threads and
    processes (each clip is written under a unique name, then renamed into place)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.identity = renderer_identity()
        self.rendered = 0  # clips this process rendered for real
        self.copied = 0  # clips this process copied from the cache

    def render(self, spec: VideoSpec, path: Path, cancel: threading.Event | None = None) -> None:
        """``render_mp4``'s contract: the clip at ``path`` (never half a file), or
        ``RenderCancelled`` when ``cancel`` is set."""
        if cancel is not None and cancel.is_set():
            raise RenderCancelled(str(path))
        cached = self.directory / f"{spec_key(spec, self.identity)}.mp4"
        if cached.exists():
            self.copied += 1
        else:
            unique = self.directory / f"{cached.stem}.{os.getpid()}.{threading.get_ident()}.mp4"
            render_mp4(spec, unique, cancel)
            os.replace(unique, cached)
            self.rendered += 1
        partial = path.with_name(path.name + ".part")
        shutil.copyfile(cached, partial)
        os.replace(partial, path)
