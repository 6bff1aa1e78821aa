"""The state one sandbox shares between its owner, its routes and its wire-level middleware."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._callbacks import VENDOR_RETRY_DELAYS
from ._dialect import Dialect
from ._dialect_evolink import EVOLINK
from ._faults import Faults
from ._log import Recorder
from ._render import DEFAULT_RESOLUTION
from ._tasks import TaskStore

if TYPE_CHECKING:
    from ._callbacks import CallbackDispatcher
    from ._files import MediaCache

DEFAULT_SPEED = 40.0
"""Vendor seconds per real second: a 10 s clip (estimated 120 s) completes in about 3 s."""
DEFAULT_TTL = 24 * 3600.0


@dataclass
class SandboxState:
    """Configuration (mutable at runtime: new values apply to new tasks) plus the live components.

    `media` and `callbacks` exist only while the server runs; they are made on its event loop.
    """

    dialect: Dialect = EVOLINK
    """The gateway whose wire format the sandbox speaks (one per process)."""
    speed: float = DEFAULT_SPEED
    ttl: float = DEFAULT_TTL
    allow_loopback_callbacks: bool = False
    callback_retry_delays: tuple[float, ...] = VENDOR_RETRY_DELAYS
    seed: int | None = None
    faults: Faults = field(default_factory=Faults)
    recorder: Recorder = field(default_factory=Recorder)
    tasks: TaskStore = field(default_factory=TaskStore)
    resolution: str = DEFAULT_RESOLUTION
    """Size of rendered clips, a key of `RESOLUTIONS` ("360p", "720p", "1080p")."""
    files_dir: Path | None = None
    media: MediaCache | None = None
    callbacks: CallbackDispatcher | None = None
    last_request: float = field(default_factory=time.monotonic)
    """Monotonic time of the latest request of any kind (a shared sandbox exits when idle)."""

    @property
    def record_ttl(self) -> float:
        """Seconds task records are kept after creation."""
        return self.tasks.record_ttl

    @record_ttl.setter
    def record_ttl(self, value: float) -> None:
        self.tasks.record_ttl = value
