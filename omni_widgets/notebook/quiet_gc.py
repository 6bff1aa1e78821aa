"""Full garbage collections that skip what a large run of jobs started with, during the run.

A full collection walks every object the collector tracks: 25 ms for the heap of a bare
``import omni_widgets`` here, and about a second with a thousand cards, during which the notebook
is frozen (issue 14). No amount of trimming gets that walk under the 20 ms a user does not feel,
so while at least :data:`RUN_SIZE` jobs run, the objects that existed when they started (their
cards among them) are frozen (``gc.freeze``): full collections walk only newer objects. When the
last job ends they are unfrozen and collected as usual again; cyclic garbage among them waits
until then. Nothing is done when something else has frozen objects or turned the collector off,
or when ``OMNI_GC_FREEZE=0``.
"""

from __future__ import annotations

import gc
import os

#: Running jobs from which a run counts as large.
RUN_SIZE = 100
#: A run that grew by this share since the last freeze is frozen again (its new cards too).
REFREEZE_GROWTH = 0.25


class QuietGC:
    """Freezes the heap while a large run goes on; unfreezes it once the run ends."""

    def __init__(self) -> None:
        self.frozen_at = 0  # running jobs at the last freeze; 0: nothing of ours is frozen

    @property
    def active(self) -> bool:
        return self.frozen_at > 0

    def running(self, jobs: int) -> None:
        """Told how many jobs run now (by the ticker, a few times a second)."""
        if jobs == 0:
            self.end()
        elif jobs >= RUN_SIZE and jobs >= self.frozen_at * (1 + REFREEZE_GROWTH) and self._may():
            gc.freeze()
            self.frozen_at = jobs

    def end(self) -> None:
        """The run ended: everything frozen goes back to the collector."""
        if self.active:
            self.frozen_at = 0
            gc.unfreeze()

    def _may(self) -> bool:
        if self.active:
            return True  # the frozen objects are ours to add to
        if os.environ.get("OMNI_GC_FREEZE", "1").strip() in ("0", "false", "no", "off"):
            return False
        return gc.isenabled() and gc.get_freeze_count() == 0
