"""A pytest plugin that turns every skip into a failure, except in tests marked ``may_skip``.

A skipped test is a test nobody ran: in a plain clone it used to hide 40% of the suite. The one
test allowed to skip (the cross-check against ../shared/api, absent from a plain clone) carries
the ``may_skip`` marker; any other skip fails with its reason, so it cannot go unnoticed.
Expected failures (xfail) are not skips and pass through untouched.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

MARKER = "may_skip"


class SkipGate:
    """Registered by conftest.py; see the module docstring."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report: pytest.TestReport = yield
        if report.skipped and not hasattr(report, "wasxfail") and not _may_skip(item):
            report.outcome = "failed"
            report.longrepr = _unexpected(report.longrepr)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report: pytest.CollectReport = yield
        if report.skipped:
            report.outcome = "failed"
            report.longrepr = _unexpected(report.longrepr)
        return report


def _may_skip(item: pytest.Item) -> bool:
    return item.get_closest_marker(MARKER) is not None


def _unexpected(longrepr: object) -> str:
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else longrepr
    reason = str(reason).removeprefix("Skipped: ")
    return (
        f"skipped, and only tests marked @pytest.mark.{MARKER} may skip: {reason}\n"
        "(a skipped test is a test nobody ran: make it run here, or deselect it with -m/-k)"
    )
