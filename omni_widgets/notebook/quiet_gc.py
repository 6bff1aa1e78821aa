"""Full garbage collections that skip what a large run of jobs started with, during the run.

A full collection walks every object the collector tracks: 25 ms for the heap of a bare
``import omni_widgets`` here, and about a second with a thousand cards, during which the notebook
is frozen (issue 14). No amount of trimming gets that walk under the 20 ms a user does not feel,
so while at least :data:`RUN_SIZE` jobs run, the objects that existed when they started (their
cards among them) are frozen (``gc.freeze``): full collections walk only newer objects. What the
run itself builds (finished cards, their videos) is frozen too, once every :data:`REFREEZE_S`
(measured: with it frozen only when the run grew, 1,000 jobs still met full collections of
50-120 ms as their cards completed). Young cyclic garbage is mostly collected by the frequent
young collections before that. When the last job ends everything is unfrozen and collected as
usual again; cyclic garbage among the frozen objects waits until then. Nothing is done when
something else has frozen objects or turned the collector off, or when ``OMNI_GC_FREEZE=0``.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable

#: Running jobs from which a run counts as large.
RUN_SIZE = 100
#: Seconds between freezes while a large run goes on (a freeze itself costs microseconds).
REFREEZE_S = 1.0


class QuietGC:
    """Freezes the heap while a large run goes on; unfreezes it once the run ends."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.frozen_at: float | None = None  # when we last froze; None: nothing of ours is

    @property
    def active(self) -> bool:
        return self.frozen_at is not None

    def running(self, jobs: int) -> None:
        """Told how many jobs run now (by the ticker, a few times a second)."""
        if jobs == 0:
            self.end()
            return
        now = self._clock()
        due = self.frozen_at is None or now - self.frozen_at >= REFREEZE_S
        if due and (jobs >= RUN_SIZE or self.active) and self._may():
            gc.freeze()
            self.frozen_at = now

    def end(self) -> None:
        """The run ended: everything frozen goes back to the collector."""
        if self.active:
            self.frozen_at = None
            gc.unfreeze()

    def _may(self) -> bool:
        if self.active:
            return True  # the frozen objects are ours to add to
        if os.environ.get("OMNI_GC_FREEZE", "1").strip() in ("0", "false", "no", "off"):
            return False
        return gc.isenabled() and gc.get_freeze_count() == 0
