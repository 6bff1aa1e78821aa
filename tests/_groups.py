"""Which worker runs which tests under ``pytest -n N --dist loadgroup`` (``./dev test``): the
browser tests in two groups, each group on one worker (sharing its Lab servers), every other test
on whichever worker is free.

xdist's own ``loadgroup`` groups by ``xdist_group`` marks that it appends to node ids, which
pytest 9.2 no longer lets it change (``Item.nodeid`` is computed), so every test went its own way
and each worker started Lab servers of its own. Here the group follows from the module instead:
``conftest.py`` hands :class:`GroupScheduling` to xdist and checks that every browser test is in
a module named ``test_browser_*.py`` (or the harness' own).
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

BROWSER_MODULES = ("tests/test_browser_", "tests/test_harness_browser.py")
COURSE_MODULE = "tests/test_browser_course.py"


def group_of(nodeid: str) -> str | None:
    """The group of the test ``nodeid``: "lab-course" (the course notebooks, the longest),
    "lab" (every other browser test) or None (no group)."""
    if nodeid.startswith(COURSE_MODULE):
        return "lab-course"
    if nodeid.startswith(BROWSER_MODULES):
        return "lab"
    return None


class GroupScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with :func:`group_of` as the scope: a group goes to one worker
    as one unit of work, each other test is a unit of its own."""

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid) or nodeid
