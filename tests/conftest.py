"""Shared fixtures: a real kernel (``kernel``) and JupyterLab in Chromium (``lab_server``,
``lab_servers``, ``chromium``, ``lab_page``). Helpers live in ``_kernel.py`` and ``_lab.py``.

Browser tests: mark them ``@pytest.mark.browser`` and keep them in their own modules (the
``chromium`` fixture is module-scoped, see ``_lab.py``). Write notebooks into
``lab_server.root_dir`` (a temp dir) or ``lab_server.copy_in(...)`` repo notebooks, then::

    lab_page.open_notebook("demo.ipynb")
    lab_page.run_all_cells()
    lab_page.find(".omni-card")

Tests do not skip: a skip fails unless the test is marked ``may_skip`` (``_skip_gate.py``).

Need other env for the kernels (e.g. a sandbox)? ``server = lab_servers(env={"OMNI_BASE_URL":
sb.base_url, "OMNI_API_KEY": sb.api_key})`` and ``with LabPage.new(chromium, server) as page:``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path

import pytest
from _kernel import Kernel
from _lab import CHROMIUM_PATH, LabPage, LabServer, launch_chromium
from _skip_gate import SkipGate
from playwright.sync_api import Browser, sync_playwright

from omni_widgets.sandbox import stop_shared
from omni_widgets.sandbox._shared import HOME_ENV

LabServerFactory = Callable[..., LabServer]
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_configure(config: pytest.Config) -> None:
    """Only tests marked ``may_skip`` may skip; any other skip fails (see ``_skip_gate.py``)."""
    config.pluginmanager.register(SkipGate(), "omni-skip-gate")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts a kernel takes seconds: it is ``slow`` too, out of the quick loop."""
    for item in items:
        if item.get_closest_marker("kernel"):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report so fixtures can tell whether their test failed."""
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(autouse=True)
def _isolated_ledger(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test records its tasks in a ledger of its own, in a temp dir, never in the repo."""
    path = tmp_path_factory.mktemp("ledger") / "omni-tasks.sqlite3"
    monkeypatch.setenv("OMNI_LEDGER", str(path))
    return path


@pytest.fixture(scope="session", autouse=True)
def shared_sandbox_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private home for the shared sandbox process (``OMNI_SANDBOX_HOME``) for this session, so
    tests never use or stop the developer's own; the process is stopped at the end."""
    home = tmp_path_factory.mktemp("sandbox-home")
    previous = os.environ.get(HOME_ENV)
    os.environ[HOME_ENV] = str(home)
    try:
        yield home
    finally:
        stop_shared(home)
        if previous is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = previous


@pytest.fixture
def kernel(_isolated_ledger: Path) -> Iterator[Kernel]:
    """A started ipykernel (scrubbed env, see ``sanitized_env``; the test's own task ledger),
    shut down after the test."""
    with Kernel(env={"OMNI_LEDGER": str(_isolated_ledger)}) as k:
        yield k


@pytest.fixture(scope="session")
def lab_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServerFactory]:
    """Factory ``(env=None, root_dir=None) -> LabServer``; one server per distinct pair, reused
    for the whole session and stopped at its end. ``env`` values of None unset a variable."""
    servers: dict[tuple[object, ...], LabServer] = {}

    def get(env: Mapping[str, str | None] | None = None, root_dir: Path | None = None) -> LabServer:
        key = (tuple(sorted((env or {}).items())), root_dir)
        if key not in servers:
            state = tmp_path_factory.mktemp("lab-state")
            root = root_dir or tmp_path_factory.mktemp("lab-root")
            servers[key] = LabServer.start(root, state, env=env)
        return servers[key]

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def lab_server(lab_servers: LabServerFactory) -> LabServer:
    """The default Lab server: temp root dir, no ``OMNI_*`` variables or API keys in its env."""
    return lab_servers()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium via Playwright (module-scoped: see ``_lab.py`` on asyncio).

    Fails when /usr/bin/chromium is missing: tests do not skip (see ``_skip_gate.py``).
    """
    if not Path(CHROMIUM_PATH).exists():
        pytest.fail(
            f"{CHROMIUM_PATH} missing: apt-get install chromium chromium-driver (./dev test does),"
            ' or deselect the browser tests with -m "not browser"'
        )
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def lab_page(
    chromium: Browser, lab_server: LabServer, request: pytest.FixtureRequest
) -> Iterator[LabPage]:
    """A fresh tab on ``lab_server``; on failure saves ``test-artifacts/<test>-failure.png``."""
    with LabPage.new(chromium, lab_server) as page:
        yield page
        reports = request.node.stash.get(_REPORTS, {})
        if any(r.failed for r in reports.values()):
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            try:
                page.screenshot(f"{name}-failure")
            except Exception as exc:  # a broken page must not hide the test's own error
                print(f"failure screenshot not saved: {exc}")
            if page.console_errors:
                print("browser console errors:\n" + "\n".join(page.console_errors))
